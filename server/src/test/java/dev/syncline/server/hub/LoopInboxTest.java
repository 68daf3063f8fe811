package dev.syncline.server.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import io.netty.buffer.ByteBuf;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An event loop that falls behind queues a bounded amount of commits; its subscribers read what
 * it could not queue from the store, with no gap and no duplicate.
 */
class LoopInboxTest {
  /** Far below what the commits below add up to, so most of them are not queued. */
  private static final long INBOX_BYTES = 4096;

  @TempDir Path dir;
  private HubOnStore real;
  private Vertx vertx;
  private Store store;
  private Hub hub;
  private long ms = 1;

  @BeforeEach
  void open() {
    real = new HubOnStore(dir, INBOX_BYTES, "db", "other");
    vertx = real.vertx;
    store = real.store;
    hub = real.hub;
  }

  @AfterEach
  void close() throws Exception {
    real.close();
  }

  @Test
  @DisplayName("a stalled loop: live, catching-up and owner-filtered subscribers end with exactly the stored state, "
      + "each delta once; the commits not queued are counted")
  void stalledLoopLosesNothing() throws Exception {
    long seed = Long.getLong("syncline.seed", System.nanoTime());
    try {
      stalledLoop(new Random(seed));
    } catch (AssertionError e) {
      throw new AssertionError("seed " + seed + " (rerun with -Dseed=" + seed + "): " + e.getMessage(), e);
    }
  }

  private void stalledLoop(Random random) throws Exception {
    Map<String, JsonNode> model = new HashMap<>(); // col/id/attr -> newest value, for db
    for (int i = 0; i < 20; i++) commitRandom(random, model);
    commit("db", model, delta("o", "b", Delta.OWNER, TextNode.valueOf("bob")), delta("o", "b", "t", IntNode.valueOf(1)));

    Context loop = vertx.getOrCreateContext();
    Recorder live = new Recorder();
    Recorder late = new Recorder();
    Recorder alices = new Recorder();
    loop.runOnContext(v -> {
      hub.subscribe("live", "db", null, 0, null, live, null, DatabaseInfo::epoch);
      hub.subscribe("alice", "db", null, 0, null, alices, new AlicesInO(), DatabaseInfo::epoch);
    });
    await(() -> live.synced && alices.synced, () -> "both subscriptions live");

    // the loop is busy, as with many subscribers on a loaded server: commits pile up behind it
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch readerFree = new CountDownLatch(1);
    hub.readers().executeBlocking(() -> readerFree.await(10, TimeUnit.SECONDS), false); // the one catch-up reader is busy too
    loop.runOnContext(v -> {
      hub.subscribe("late", "db", null, 0, null, late, null, DatabaseInfo::epoch); // its first page waits for the reader
      awaitQuietly(release);
    });
    // "late" reads its first page after this commit (queued: the loop will deliver it; it fills the
    // inbox) and before the ones not queued, and the loop hears of the page after both: it must read again
    commitRandom(random, model, 80);
    readerFree.countDown();
    CountDownLatch pageRead = new CountDownLatch(1);
    hub.readers().executeBlocking(() -> { // one reader thread: this runs after the page's read
      pageRead.countDown();
      return null;
    }, false);
    assertTrue(pageRead.await(10, TimeUnit.SECONDS));
    for (int i = 0; i < 300; i++) {
      commitRandom(random, model);
      if (i == 150) commit("db", model, delta("o", "b", Delta.OWNER, TextNode.valueOf("alice"))); // now alice's
    }
    release.countDown();

    Map<String, JsonNode> alicesModel = new HashMap<>(model);
    await(() -> live.state().equals(model) && late.state().equals(model) && alices.state().equals(alicesModel),
        () -> "every subscriber at the stored state; live " + live.state().equals(model) + ", late " + late.state().equals(model)
            + ", alice " + alices.state().equals(alicesModel));
    assertEquals(model, live.state());
    assertEquals(model, late.state());
    assertEquals(alicesModel, alices.state(), "alice sees b once it is hers (a reset and a catch-up from 0)");
    for (Recorder r : List.of(live, late, alices)) assertEquals(List.of(), r.problems);
    assertTrue(alices.resets >= 1, "the transfer made alice's subscription start over");
    assertTrue(hub.commitsNotQueued() > 100, "most commits were not queued: " + hub.commitsNotQueued());
  }

  @Test
  @DisplayName("an owner transfer committed before a reader subscribed, reaching its loop after, does not start the reader over")
  void transferAlreadyInTheSnapshot() throws Exception {
    Map<String, JsonNode> model = new HashMap<>();
    commit("db", model, delta("o", "b", Delta.OWNER, TextNode.valueOf("bob")), delta("o", "b", "t", IntNode.valueOf(1)));
    Context loop = vertx.getOrCreateContext();
    Recorder live = new Recorder();
    loop.runOnContext(v -> hub.subscribe("live", "db", null, 0, null, live, null, DatabaseInfo::epoch));
    await(() -> live.synced, () -> "the loop has a subscriber, so commits are handed to it");

    CountDownLatch release = new CountDownLatch(1);
    Recorder alices = new Recorder();
    loop.runOnContext(v -> {
      awaitQuietly(release);
      // the transfer is committed, its batch queued behind this task: alice starts with it in her epoch
      hub.subscribe("alice", "db", null, 0, null, alices, new AlicesInO(), DatabaseInfo::epoch);
    });
    commit("db", model, delta("o", "b", Delta.OWNER, TextNode.valueOf("alice")));
    release.countDown();

    await(() -> alices.synced && alices.state().equals(model), () -> "alice at the stored state: " + alices.state());
    CountDownLatch after = new CountDownLatch(1);
    loop.runOnContext(v -> after.countDown()); // after the transfer's batch
    assertTrue(after.await(10, TimeUnit.SECONDS));
    assertEquals(0, alices.resets, "her catch-up already read b as hers");
    assertEquals(List.of(), alices.problems);
  }

  private void commitRandom(Random random, Map<String, JsonNode> model) {
    commitRandom(random, model, 1 + random.nextInt(4));
  }

  private void commitRandom(Random random, Map<String, JsonNode> model, int n) {
    List<Delta> deltas = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      deltas.add(delta("c", "d" + random.nextInt(50), random.nextBoolean() ? "a" : "b", IntNode.valueOf(random.nextInt(1000))));
    }
    commit(n < 10 && random.nextInt(5) == 0 ? "other" : "db", model, deltas.toArray(Delta[]::new));
  }

  private void commit(String db, Map<String, JsonNode> model, Delta... deltas) {
    if (db.equals("db")) for (Delta d : deltas) model.put(d.col() + "/" + d.id() + "/" + d.attr(), d.value());
    hub.committed(store.commit(List.of(WriteBatch.of(db, List.of(deltas)))));
  }

  private Delta delta(String col, String id, String attr, JsonNode value) {
    return new Delta(col, id, attr, value, new Hlc(ms++, 0, "w").format());
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void await(BooleanSupplier condition, Supplier<String> what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what.get());
      Thread.sleep(5);
    }
  }

  /**
   * A client's copy of one subscription: frames applied in order, a reset empties it; checks seqs
   * only rise. Its socket drains at once, but as a real one tells of it: in a later task on the
   * loop, so a subscription that fell behind stays behind while the rest of a drain goes on.
   */
  private static final class Recorder implements DrainedOutlet {
    @Override
    public void whenDrained(Runnable r) {
      Vertx.currentContext().runOnContext(v -> r.run());
    }

    private final Map<String, JsonNode> state = new HashMap<>();
    final List<String> problems = new ArrayList<>();
    volatile boolean synced;
    int resets;
    private long lastSeq;

    synchronized Map<String, JsonNode> state() {
      return new HashMap<>(state);
    }

    @Override
    public synchronized void writeText(ByteBuf frame) {
      try {
        JsonNode m = Json.MAPPER.readTree(frame.toString(StandardCharsets.UTF_8));
        for (JsonNode d : m.path("deltas")) {
          long seq = d.path("seq").asLong();
          if (seq <= lastSeq) problems.add("seq " + seq + " after " + lastSeq + " (a duplicate or out of order)");
          lastSeq = seq;
          state.put(d.path("col").asText() + "/" + d.path("id").asText() + "/" + d.path("attr").asText(), d.path("value"));
        }
      } catch (java.io.IOException e) {
        throw new AssertionError(e);
      }
    }

    @Override
    public synchronized void send(ServerMessage message) {
      if (message instanceof ServerMessage.Synced) synced = true;
      if (message instanceof ServerMessage.Reset) {
        state.clear();
        lastSeq = 0;
        resets++;
      }
    }
  }
}
