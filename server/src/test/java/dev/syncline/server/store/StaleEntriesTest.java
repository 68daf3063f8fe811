package dev.syncline.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
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
    long seed = Long.getLong("syncline.seed", System.nanoTime()); // -Dsyncline.seed=N replays a run
    Random rnd = new Random(seed);
    writeEveryRegister();

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
  @DisplayName("a flush whose writes fail part-way lists nothing once its transaction is aborted")
  void failedFlushListsNothing() throws IOException {
    java.nio.file.Path other = java.nio.file.Files.createTempDirectory("syncline-stale");
    jetbrains.exodus.env.Environment env = jetbrains.exodus.env.Environments.newInstance(other.toFile());
    try {
      StaleEntries stale = env.computeInExclusiveTransaction(txn -> StaleEntries.open(env, "db", txn));
      jetbrains.exodus.env.Store log = env.computeInExclusiveTransaction(
          txn -> env.openStore("log:db", jetbrains.exodus.env.StoreConfig.WITHOUT_DUPLICATES, txn));
      stale.superseded(1000, 1);
      stale.superseded(2000, 500); // far apart: listed for a sweep, not deleted by the commit
      // a real failure of Xodus: writing in a read-only transaction
      jetbrains.exodus.env.Transaction readOnly = env.beginReadonlyTransaction();
      try {
        assertThrows(RuntimeException.class, () -> stale.flush(readOnly, log));
      } finally {
        readOnly.abort();
      }
      stale.transactionEnded(false);
      assertEquals(0, stale.size(), "nothing of the aborted transaction stays listed");
      assertFalse(stale.mayBeStale(1));
    } finally {
      env.close();
      try (var files = java.nio.file.Files.walk(other)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
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

  @Test
  @DisplayName("a commit that rewrites registers written together deletes their old entries itself; old entries far apart wait for a sweep")
  void runsAreDeletedByTheCommit() throws IOException {
    writeEveryRegister();

    List<Delta> bulk = new ArrayList<>(); // registers 0-99: their entries are seqs 1-100
    for (int r = 0; r < 100; r++) bulk.add(delta(r, 1));
    store.commit(List.of(WriteBatch.of("db", bulk)));
    assertEquals(0, store.staleLogEntries(), "one run of 100: deleted in the commit");

    List<Delta> few = new ArrayList<>(); // a run, but of fewer than StaleEntries.RUN
    for (int r = 100; r < 100 + StaleEntries.RUN - 1; r++) few.add(delta(r, 1));
    store.commit(List.of(WriteBatch.of("db", few)));
    assertEquals(few.size(), store.staleLogEntries(), "too few to be worth a page rewrite in the commit");
    assertEquals(few.size(), store.sweepLog(Integer.MAX_VALUE));

    List<Delta> spread = new ArrayList<>(); // every 100th of the rest: 100 seqs apart
    for (int r = 200; r < REGISTERS; r += 100) spread.add(delta(r, 1));
    store.commit(List.of(WriteBatch.of("db", spread)));
    assertEquals(spread.size(), store.staleLogEntries(), "far apart: listed for a sweep");

    List<Delta> mixed = new ArrayList<>(); // a run of 40 beside three far apart, none of them rewritten above
    for (int r = 210; r < 250; r++) mixed.add(delta(r, 2));
    for (int r = 350; r < 800; r += 200) mixed.add(delta(r, 2));
    store.commit(List.of(WriteBatch.of("db", mixed)));
    assertEquals(spread.size() + 3, store.staleLogEntries(), "the run deleted, the three listed");

    assertEachOnce(store.changesSince("db", null, 0, Integer.MAX_VALUE, Integer.MAX_VALUE).deltas(), "before the sweep");
    reopen();
    assertEquals(spread.size() + 3, store.staleLogEntries());
    assertEquals(spread.size() + 3, store.sweepLog(Integer.MAX_VALUE));
    assertEachOnce(store.changesSince("db", null, 0, Integer.MAX_VALUE, Integer.MAX_VALUE).deltas(), "after it");
  }

  @Test
  @DisplayName("a commit that fails after superseding an entry lists nothing: that entry is still current, and no later sweep deletes it")
  void failedCommitListsNothing() throws IOException {
    writeEveryRegister();

    int[] calls = {0};
    WriteGuard failsOnTheSecond = (col, action, owner) -> {
      if (++calls[0] == 2) throw new IllegalStateException("a fault in the middle of the transaction");
      return true;
    };
    WriteBatch failing = WriteBatch.of("db", List.of(delta(5, 1), delta(6, 1)), "w", failsOnTheSecond);
    assertThrows(IllegalStateException.class, () -> store.commit(List.of(failing)));
    assertEquals(0, store.staleLogEntries());

    store.commit(List.of(WriteBatch.of("db", List.of(delta(500, 1))))); // a later commit, and its sweep
    assertEquals(1, store.sweepLog(Integer.MAX_VALUE));
    assertEachOnce(store.changesSince("db", null, 0, Integer.MAX_VALUE, Integer.MAX_VALUE).deltas(), "after the sweep");
  }

  /** Every register's first value, in one commit: seqs 1 to {@link #REGISTERS}, in register order. */
  private void writeEveryRegister() {
    List<Delta> all = new ArrayList<>();
    for (int r = 0; r < REGISTERS; r++) all.add(delta(r, 0));
    store.commit(List.of(WriteBatch.of("db", all)));
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
