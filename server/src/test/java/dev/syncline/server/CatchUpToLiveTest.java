package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Pipeline;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Catch-up to live while writers run")
class CatchUpToLiveTest {
  static final int WRITERS = 3;
  static final int PUSHES_PER_WRITER = 1500;
  static final int SUBSCRIBERS = 16;

  /** Every seq received, once: a second sighting or a missing seq fails the test. */
  static final class SeqLedger {
    final BitSet seen = new BitSet();
    String problem;
    int count;

    synchronized void record(JsonNode msg) {
      if (!"changes".equals(msg.path("type").asText())) return;
      for (JsonNode d : msg.get("deltas")) {
        int seq = d.get("seq").asInt();
        if (seen.get(seq) && problem == null) problem = "duplicate seq " + seq;
        seen.set(seq);
        count++;
      }
    }

    synchronized int count() {
      return count;
    }
  }

  @Test
  @DisplayName("subscribers joining mid-stream, from 0 and from a cursor, see every seq exactly once")
  void noGapNoDuplicate() throws Exception {
    try (TestServer server = TestServer.start(c -> {
      c.catchUpPageDeltas = 97;
      c.durability = "async"; // more, smaller commits: more chances to race the switch to live
    })) {
      List<WsClient> writers = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) writers.add(server.connect("writer" + w));
      AtomicInteger acked = new AtomicInteger();
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < WRITERS; w++) {
        WsClient client = writers.get(w);
        String origin = "writer" + w;
        Thread t = new Thread(() -> {
          Pipeline p = new Pipeline(client, 20);
          List<CompletableFuture<JsonNode>> acks = new ArrayList<>();
          for (int i = 0; i < PUSHES_PER_WRITER; i++) {
            // distinct registers: no compaction, so seqs 1..N all stay in the log
            acks.add(p.send(push("app", delta("c", origin + "-" + i, "v", i, now(i % 65536, origin))))
                .whenComplete((m, e) -> acked.incrementAndGet()));
          }
          acks.forEach(CompletableFuture::join);
        });
        threads.add(t);
        t.start();
      }
      int total = WRITERS * PUSHES_PER_WRITER;

      // subscribers join at staggered moments while writes flow, half from 0 and half from the
      // cursor they would have saved (the head at that moment); each join is a fresh chance for
      // a commit to land between its last catch-up read and its switch to live
      List<WsClient> readers = new ArrayList<>();
      List<SeqLedger> ledgers = new ArrayList<>();
      List<Long> cursors = new ArrayList<>();
      for (int r = 0; r < SUBSCRIBERS; r++) {
        int threshold = total / 10 + r * (total * 7 / 10) / SUBSCRIBERS;
        waitFor(() -> acked.get() >= threshold);
        WsClient reader = server.connect("reader" + r);
        SeqLedger ledger = new SeqLedger();
        long cursor = r % 2 == 0 ? 0 : server.admin(WsClient.obj("admin").put("op", "db.stats")
            .set("args", WsClient.obj("x").put("db", "app"))).get("data").get("head").asLong();
        reader.listen(ledger::record);
        reader.request(sub("app", cursor));
        readers.add(reader);
        ledgers.add(ledger);
        cursors.add(cursor);
      }
      for (Thread t : threads) t.join();

      for (int r = 0; r < SUBSCRIBERS; r++) {
        SeqLedger ledger = ledgers.get(r);
        long cursor = cursors.get(r);
        readers.get(r).until(() -> ledger.count() >= total - cursor, "subscriber to reach the head");
        assertNull(ledger.problem, "subscriber " + r);
        assertEquals(total - cursor, ledger.count(), "subscriber " + r + " got every delta once");
        assertEquals(cursor + 1, ledger.seen.nextSetBit(1), "subscriber " + r + " starts right after its cursor");
        assertEquals(total, ledger.seen.nextClearBit((int) cursor + 1) - 1, "subscriber " + r + " has no gap");
        readers.get(r).close();
      }
      for (WsClient c : writers) c.close();
    }
  }

  @Test
  @DisplayName("a catch-up of many pages from 0 reaches synced after tombstones above its first page were purged, "
      + "with every live attribute and no purged document; a copy at cursor 0 with an epoch is reset")
  void catchUpPastPurgedTombstones() throws Exception {
    try (TestServer server = purging(10, 200)) {
      try (WsClient w = server.connect("writer")) {
        for (int i = 0; i < 50; i++) w.request(push("app", delta("c", "d" + i, "v", i, now(i, "writer"))));
        w.request(push("app", delta("c", "d0", "$deleted", true, now(50, "writer")))); // a tombstone at seq 51
        for (int i = 51; i < 60; i++) w.request(push("app", delta("c", "d" + i, "v", i, now(i, "writer"))));
      }
      waitFor(() -> purgedThrough(server) >= 51);
      try (WsClient reader = server.connect("reader")) {
        String sid = reader.request(sub("app", 0)).path("sid").asText();
        reader.await(m -> "synced".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText()));
        java.util.Set<String> ids = new java.util.HashSet<>();
        for (JsonNode m : reader.receivedOfType("changes")) for (JsonNode d : m.path("deltas")) ids.add(d.path("id").asText());
        assertEquals(58, ids.size(), "every live document: " + ids);
        org.junit.jupiter.api.Assertions.assertFalse(ids.contains("d0"), "the purged one is gone");
        assertEquals(0, reader.receivedOfType("reset").size(), "no restart");

        // a copy at cursor 0 (a client's own acknowledged writes) may hold what a purged tombstone removed: reset
        String epoch = reader.receivedOfType("subscribed").get(0).path("epoch").asText();
        String sid0 = reader.request(sub("app", 0).put("epoch", epoch)).path("sid").asText();
        reader.await(m -> "reset".equals(m.path("type").asText()) && sid0.equals(m.path("sid").asText()));
      }
    }
  }

  @Test
  @DisplayName("a catch-up of many pages from 0, shorter than the retention, reaches synced without a reset while purges of "
      + "tombstones committed before it began keep moving past its cursor")
  void catchUpFromZeroWhilePurging() throws Exception {
    try (TestServer server = purging(10, 5_000)) {
      try (WsClient w = server.connect("loader")) {
        for (int p = 0; p < 30; p++) {
          com.fasterxml.jackson.databind.node.ObjectNode push = push("app");
          for (int i = 0; i < 100; i++) push.withArray("deltas").add(delta("c", "d" + (p * 100 + i), "v", i, now(p * 100 + i, "loader")));
          w.request(push);
        }
      }
      java.util.concurrent.atomic.AtomicBoolean removing = new java.util.concurrent.atomic.AtomicBoolean(true);
      Thread churn = new Thread(() -> { // removals expiring all the time: every purge step moves purgedThrough on
        try (WsClient w = server.connect("churn")) {
          for (int i = 0; removing.get(); i++) {
            w.request(push("app", delta("t", "x" + i, "v", 1, now(10_000 + 2 * i, "churn"))));
            w.request(push("app", delta("t", "x" + i, "v", null, now(10_001 + 2 * i, "churn"))));
            Thread.sleep(10);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
      churn.start();
      try {
        waitFor(() -> purgedThrough(server) > 0); // purges under way: the first removals are a retention old
        try (WsClient reader = server.connect("reader")) {
          String sid = reader.request(sub("app", 0)).path("sid").asText();
          reader.await(m -> "synced".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText()));
          // what a page sent was current when read: a removal committed before the catch-up began never
          // removed a value it was sent, and none committed since is a retention old yet
          assertEquals(0, reader.receivedOfType("reset").size(), "no restart");
        }
      } finally {
        removing.set(false);
        churn.join();
      }
    }
  }

  /** A server whose tombstones are purged {@code retentionMs} after they are written, read in pages of {@code pageDeltas}. */
  private static TestServer purging(int pageDeltas, long retentionMs) {
    return TestServer.start(c -> {
      c.catchUpPageDeltas = pageDeltas;
      c.tombstoneRetentionMs = retentionMs;
      c.purgeIntervalMs = 100;
    });
  }

  private static long purgedThrough(TestServer server) {
    return server.admin(dev.syncline.server.testing.Deltas.admin("db.stats", dev.syncline.server.testing.Deltas.args().put("db", "app")))
        .path("data").path("purgedThrough").asLong();
  }

  private static void waitFor(java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WsClient.TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("condition not reached in time");
      Thread.sleep(5);
    }
  }
}
