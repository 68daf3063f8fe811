package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Superseded log entries wait in the log for a sweep, and no reader ever gets one")
class StaleEntriesTest extends StoreTestBase {
  private static final int REGISTERS = 1000;

  @Test
  @DisplayName("while the writer overwrites 1,000 registers and sweeps at random, readers on two other threads always read each register exactly once")
  void readersNeverGetSupersededEntries() throws Exception {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    List<Delta> first = new ArrayList<>();
    for (int r = 0; r < REGISTERS; r++) first.add(delta(r, 0));
    store.commit(List.of(WriteBatch.of("db", first)));

    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicInteger reads = new AtomicInteger();
    List<Thread> readers = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      Thread reader = new Thread(() -> {
        try {
          while (!stop.get()) {
            assertEachOnce(store.changesSince("db", null, 0, Integer.MAX_VALUE, Integer.MAX_VALUE).deltas(), "changes");
            List<byte[]> regs = new ArrayList<>();
            for (Delta d : store.registers("db", "c")) regs.add(Json.bytes(d));
            assertEachOnce(regs, "registers");
            reads.incrementAndGet();
          }
        } catch (Throwable t) {
          failure.compareAndSet(null, t);
        }
      }, "reader-" + i);
      reader.start();
      readers.add(reader);
    }

    int sweeps = 0;
    long until = System.nanoTime() + 2_000_000_000L;
    for (int i = 1; System.nanoTime() < until && failure.get() == null; i++) {
      List<Delta> batch = new ArrayList<>();
      for (int n = 1 + rnd.nextInt(50); n > 0; n--) batch.add(delta(rnd.nextInt(REGISTERS), i));
      store.commit(List.of(WriteBatch.of("db", batch)));
      if (rnd.nextInt(3) == 0 && store.sweepLog(1 + rnd.nextInt(100)) > 0) sweeps++;
    }
    stop.set(true);
    for (Thread t : readers) t.join();

    if (failure.get() != null) throw new AssertionError("seed " + seed, failure.get());
    assertTrue(sweeps > 20 && reads.get() > 20, "seed " + seed + ": " + sweeps + " sweeps, " + reads.get() + " reads");
  }

  @Test
  @DisplayName("a sweep deletes at most as many entries as asked; the count of those waiting follows, also across a reopen")
  void sweepsInOrder() {
    for (int i = 0; i < 5; i++) store.commit(List.of(WriteBatch.of("db", List.of(delta(0, i), delta(1, i)))));
    assertEquals(8, store.staleLogEntries(), "4 older values of each of 2 registers");
    assertEquals(3, store.sweepLog(3));
    assertEquals(5, store.staleLogEntries());
    reopen();
    assertEquals(5, store.staleLogEntries(), "what is left is listed again at open");
    assertEquals(5, store.sweepLog(100));
    assertEquals(0, store.sweepLog(100), "nothing left");
    assertEquals(2, store.changesSince("db", null, 0, 100, Integer.MAX_VALUE).deltas().size());
  }

  /** Every register once, and none other. */
  private static void assertEachOnce(List<byte[]> deltas, String what) throws IOException {
    Set<String> ids = new HashSet<>();
    for (byte[] json : deltas) {
      JsonNode d = Json.MAPPER.readTree(json);
      assertTrue(ids.add(d.get("id").asText()), what + ": " + d + " twice");
    }
    assertEquals(REGISTERS, ids.size(), what);
  }

  private static Delta delta(int register, int version) {
    return new Delta("c", "d" + register, "v", IntNode.valueOf(version), new Hlc(1_700_000_000_000L + version, register, "t").format());
  }
}
