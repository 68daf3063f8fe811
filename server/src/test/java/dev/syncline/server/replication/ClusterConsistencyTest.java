package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.WsClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Replicas agree: equal timestamps, clocks, repair and purge across the cluster")
class ClusterConsistencyTest {
  static final Duration WITHIN = Duration.ofSeconds(30);

  @Test
  @DisplayName("one timestamp with two different values, written to two servers at once, ends as one value everywhere")
  void equalTimestampConflict() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      String ts = now(0, "tab");
      // two tabs of one app share a clientId: the same timestamp, different values
      java.util.concurrent.ExecutorService two = java.util.concurrent.Executors.newFixedThreadPool(2); // the common pool may have one thread
      try (WsClient a = c.node(0).connect("tab"); WsClient b = c.node(1).connect("tab")) {
        CompletableFuture<JsonNode> onA = CompletableFuture.supplyAsync(() -> a.request(push("app", delta("c", "d", "v", "apple", ts))), two);
        CompletableFuture<JsonNode> onB = CompletableFuture.supplyAsync(() -> b.request(push("app", delta("c", "d", "v", "banana", ts))), two);
        // banana, the greater, is applied wherever it lands; apple may find banana already replicated there
        assertTrue(java.util.Set.of("applied", "superseded").contains(onA.join().path("results").get(0).asText()), onA.join().toString());
        assertEquals("applied", onB.join().path("results").get(0).asText());
      } finally {
        two.shutdown();
      }
      c.awaitSameDigest("app", WITHIN);
      for (ClusterNode n : c.nodes()) {
        assertEquals("banana", n.registers("app").get(Replica.key("c", "d", "v")).value().asText(), "the greater value wins on " + n.name());
      }
    }
  }

  @Test
  @DisplayName("a database destroyed on one server while another, cut off, writes to it: both end with only what was written after the destroy")
  void destroyWhileCutOff() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      assertEquals("result", a.admin(admin("db.create", args().put("db", "shared"))).path("type").asText());
      try (WsClient w = a.connect("w")) {
        w.request(push("shared", delta("c", "old", "v", 1, now(0, "w"))));
      }
      c.awaitSameDigest("shared", WITHIN);
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      assertEquals("result", a.admin(admin("db.destroy", args().put("db", "shared"))).path("type").asText());
      // stamped after the destroy: on a fast machine now() can be the destroy's own ms, where "late" sorts first
      String lateTs = ts(System.currentTimeMillis() + 2, 0, "late");
      try (WsClient w = b.connect("late")) {
        assertEquals("applied", w.request(push("shared", delta("c", "new", "v", 2, lateTs))).path("results").get(0).asText());
      }
      long syncedOnB = syncedSeq(asAdmin(b, "reader"), sub("shared", 0)); // "old" and "new", before the destroy arrives
      c.proxy(0, 1).heal();
      c.proxy(1, 0).heal();
      c.awaitSameDigest("shared", WITHIN);
      Map<String, Replica.Reg> expected = Map.of(Replica.key("c", "new", "v"), new Replica.Reg(com.fasterxml.jackson.databind.node.IntNode.valueOf(2), lateTs));
      assertEquals(expected, a.registers("shared"));
      assertEquals(expected, b.registers("shared"));
      // B kept "new" and dropped "old": a client at B's old head that names no epoch starts over
      try (WsClient r = asAdmin(b, "reader-again")) {
        JsonNode subscribed = r.request(sub("shared", syncedOnB));
        String sid = subscribed.path("sid").asText();
        assertEquals("subscribed", subscribed.path("type").asText(), subscribed.toString());
        JsonNode first = r.next(m -> sid.equals(m.path("sid").asText()) && !"subscribed".equals(m.path("type").asText()));
        assertEquals("reset", first.path("type").asText(), first.toString());
      }
    }
  }

  /** A client of {@code node} signed in as its admin, who may read a database whatever its policies. */
  private static WsClient asAdmin(ClusterNode node, String clientId) {
    WsClient c = node.connect(clientId);
    c.request(WsClient.obj("login").put("username", "admin").put("password", dev.syncline.server.testing.TestServer.ADMIN_PASSWORD));
    return c;
  }

  /** Subscribes on {@code client} and returns the seq of its {@code synced}; closes the client. */
  private static long syncedSeq(WsClient client, com.fasterxml.jackson.databind.node.ObjectNode sub) {
    try (client) {
      String sid = client.request(sub).path("sid").asText();
      return client.next(m -> "synced".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText())).path("seq").asLong();
    }
  }

  @Test
  @DisplayName("a client may write only under its own clientId")
  void ownOrigin() {
    try (Cluster c = Cluster.ring(1, false, cfg -> { }); WsClient w = c.node(0).connect("me")) {
      JsonNode ack = w.request(push("app", delta("c", "d", "v", 1, now(0, "someone-else")), delta("c", "d", "w", 1, now(0, "me"))));
      assertEquals("bad_request", ack.path("results").get(0).path("error").asText(), ack.toString());
      assertEquals("applied", ack.path("results").get(1).asText());
    }
  }

  @Test
  @DisplayName("a peer's delta too far ahead of this server's clock is held back and reported, then applied once the clocks agree")
  void clockAhead() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      c.link(0, 1);
      c.node(1).tweak(cfg -> cfg.maxClockSkewMs = 500);
      c.startAll();
      c.awaitLinksLive(WITHIN);
      // 8 s ahead against a 500 ms limit: time for a slow machine to see it held back before n1's clock gets there
      String future = ts(System.currentTimeMillis() + 8000, 0, "w");
      try (WsClient w = c.node(0).connect("w")) {
        assertEquals("applied", w.request(push("app", delta("c", "d", "v", 1, future))).path("results").get(0).asText());
      }
      Cluster.await(() -> c.node(1).stats().toString().contains("clock-ahead"), WITHIN,
          () -> "n1 to report the clock: " + c.node(1).stats().path("peers"));
      assertTrue(c.node(1).registers("app").isEmpty(), "not applied while ahead");
      c.awaitSameDigest("app", WITHIN); // once n1's clock reaches it, the link takes it
      c.awaitLinksLive(WITHIN);
    }
  }

  @Test
  @DisplayName("a server restored from an old copy of its folder has changes its peers never get by cursor: digests find them and repair them")
  void repairAfterRestoreFromBackup() throws IOException {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      write(b, "b", 0, 30);
      c.awaitSameDigest("app", WITHIN);
      b.stop();
      Path backup = Files.createTempDirectory("syncline-backup");
      copy(b.dataDir(), backup);
      c.start(1);
      write(b, "b", 30, 60);
      write(a, "a", 0, 20);
      c.awaitSameDigest("app", WITHIN);
      b.stop();
      deleteTree(b.dataDir());
      copy(backup, b.dataDir());
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      c.start(1);
      // b's new writes get seqs a's cursor already went past: once linked again, no feed brings those, only repair
      write(b, "b2", 0, 100);
      c.proxy(0, 1).heal();
      c.proxy(1, 0).heal();
      c.awaitSameDigest("app", WITHIN);
      assertEquals(a.registers("app"), b.registers("app"));
      assertTrue(repaired(a) + repaired(b) > 0, "a repair did it: " + a.stats().path("peers") + b.stats().path("peers"));
      deleteTree(backup);
    }
  }

  private static long repaired(ClusterNode n) {
    long sum = 0;
    for (JsonNode p : n.stats().path("peers")) sum += p.path("databases").path("app").path("digest").path("repairedRegisters").asLong();
    return sum;
  }

  @Test
  @DisplayName("tombstones are purged once every peer confirmed them, and a destroyed document never comes back: not from a late write, not after restarts")
  void purgeNeverResurrects() {
    try (Cluster c = Cluster.star(1, false, cfg -> {
      cfg.tombstoneRetentionMs = 1500;
      cfg.purgeIntervalMs = 200;
    })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode hub = c.node(0);
      ClusterNode spoke = c.node(1);
      long t0 = System.currentTimeMillis();
      try (WsClient w = hub.connect("w")) {
        w.request(push("app", delta("c", "doomed", "title", "x", ts(t0, 0, "w")), delta("c", "keep", "title", "k", ts(t0, 1, "w"))));
      }
      c.awaitSameDigest("app", WITHIN);
      c.proxy(1, 0).cut();
      try (WsClient late = spoke.connect("late")) {
        // written on the cut-off spoke before the destroy below, so the destroy wins over it
        late.request(push("app", delta("c", "doomed", "note", "old", ts(t0 + 1, 0, "late"))));
      }
      try (WsClient w = hub.connect("w")) {
        w.request(push("app", delta("c", "doomed", "$deleted", true, ts(t0 + 2, 0, "w"))));
      }
      pause(2500); // past the retention: the hub must still keep the tombstone, the spoke has not confirmed it
      assertTrue(hub.registers("app").containsKey(Replica.key("c", "doomed", "$deleted")), "not purged before the spoke confirmed");
      c.proxy(1, 0).heal();
      Cluster.await(() -> noDocument(hub, "doomed") && noDocument(spoke, "doomed"), WITHIN,
          () -> "the destroyed document to be purged on both: " + hub.registers("app").keySet() + " / " + spoke.registers("app").keySet());
      c.awaitSameDigest("app", WITHIN);
      hub.stop();
      spoke.stop();
      c.start(0);
      c.start(1);
      c.awaitLinksLive(WITHIN);
      // a repair needs a bucket to differ in two comparisons in a row: three on each side give one the time
      awaitDigestComparisons(List.of(hub, spoke), "app", 3);
      assertTrue(noDocument(hub, "doomed") && noDocument(spoke, "doomed"), "it did not come back");
      assertEquals("k", hub.registers("app").get(Replica.key("c", "keep", "title")).value().asText());
    }
  }

  @Test
  @DisplayName("a write older than a destroy, from a spoke cut off past the retention, does not bring the document back on a spoke "
      + "that purged it: the hub, which still holds the destroy, does not pass it on")
  void lateWriteBehindAPurgedDestroy() {
    try (Cluster c = Cluster.star(2, false, cfg -> {
      cfg.tombstoneRetentionMs = 1500;
      cfg.purgeIntervalMs = 200;
    })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode hub = c.node(0);
      ClusterNode purger = c.node(1);
      ClusterNode late = c.node(2);
      long t0 = System.currentTimeMillis();
      try (WsClient w = hub.connect("w")) {
        w.request(push("app", delta("c", "doomed", "title", "x", ts(t0, 0, "w")), delta("c", "keep", "title", "k", ts(t0, 1, "w"))));
      }
      c.awaitSameDigest("app", WITHIN);
      c.proxy(2, 0).cut();
      try (WsClient offline = late.connect("offline")) {
        // made on the cut-off spoke before the destroy below, so the destroy wins over it
        // stamped now, not from t0: a slow machine may be past the retention since t0 already
        JsonNode ack = offline.request(push("app", delta("c", "doomed", "note", "old", now(0, "offline"))));
        assertEquals("applied", ack.path("results").get(0).asText(), ack.toString());
      }
      try (WsClient w = hub.connect("w")) {
        JsonNode ack = w.request(push("app", delta("c", "doomed", "$deleted", true, now(1, "w"))));
        assertEquals("applied", ack.path("results").get(0).asText(), ack.toString());
      }
      // the other spoke purges the document whole: its only peer, the hub, has the destroy
      Cluster.await(() -> noDocument(purger, "doomed"), WITHIN, () -> "the purge on " + purger.name() + ": " + purger.registers("app").keySet());
      c.proxy(2, 0).heal();
      c.awaitLinksLive(WITHIN);
      // the cut-off spoke's feed has reached the hub, and the hub's the purging spoke
      Cluster.await(() -> lagOf(hub) == 0 && lagOf(purger) == 0 && late.registers("app").containsKey(Replica.key("c", "doomed", "$deleted")),
          WITHIN, () -> "the feeds caught up: " + hub.stats().path("peers"));
      awaitDigestComparisons(List.of(hub, purger), "app", 2);
      // its $deleted may be back: the hub commits it again as it purges the document's values
      assertTrue(noValues(purger, "doomed"), "the destroyed document came back: " + purger.registers("app").keySet());
      assertEquals("k", purger.registers("app").get(Replica.key("c", "keep", "title")).value().asText());
    }
  }

  @Test
  @DisplayName("a new replica whose feed drops a late write behind an old destroy gets it by repair when the document lives on: "
      + "the digests agree")
  void lateWriteOfARevivedDocumentIsRepaired() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> cfg.tombstoneRetentionMs = 1500)) {
      c.link(1, 0);
      c.start(0);
      ClusterNode a = c.node(0);
      long t0 = System.currentTimeMillis();
      try (WsClient w = a.connect("w")) {
        w.request(push("app", delta("c", "d", "title", "x", ts(t0, 0, "w"))));
        w.request(push("app", delta("c", "d", "$deleted", true, ts(t0 + 10, 0, "w"))));
        // older than the destroy, arriving after it: hidden; then the document lives again
        w.request(push("app", delta("c", "d", "note", "late", ts(t0 + 5, 0, "w"))));
        w.request(push("app", delta("c", "d", "title", "again", ts(t0 + 20, 0, "w")))); // after the destroy, whatever the clock did
      }
      Cluster.await(() -> System.currentTimeMillis() > t0 + 1_700, WITHIN, () -> "the retention to pass");
      c.start(1); // its feed from a: the destroy, then the late note, now behind a destroy older than the retention
      c.awaitSameDigest("app", WITHIN);
      assertEquals("late", c.node(1).registers("app").get(Replica.key("c", "d", "note")).value().asText());
    }
  }

  private static long lagOf(ClusterNode n) {
    long lag = 0;
    for (JsonNode p : n.stats().path("peers")) {
      for (JsonNode d : p.path("databases")) lag += d.path("lagDeltas").asLong();
    }
    return lag;
  }

  @Test
  @DisplayName("a tombstone a spoke purged while the hub keeps it (the other spoke is down) is repaired once, then left until it changes")
  void unmendableDifferenceIsNotRepairedAgain() throws InterruptedException {
    try (Cluster c = Cluster.star(2, false, cfg -> {
      cfg.tombstoneRetentionMs = 1000;
      cfg.purgeIntervalMs = 200;
      cfg.digestIntervalMs = 200;
    })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode hub = c.node(0);
      ClusterNode purger = c.node(1);
      try (WsClient w = hub.connect("w")) {
        w.request(push("app", delta("c", "doomed", "title", "x", now(0, "w"))));
        c.awaitSameDigest("app", WITHIN);
        c.node(2).stop(); // the hub keeps tombstones until it is back
        w.request(push("app", delta("c", "doomed", "$deleted", true, now(1, "w"))));
      }
      Cluster.await(() -> noDocument(purger, "doomed"), WITHIN, () -> "the purge on " + purger.name() + ": " + purger.registers("app").keySet());
      long purged = System.currentTimeMillis();
      assertTrue(hub.registers("app").containsKey(Replica.key("c", "doomed", "$deleted")), "the hub keeps the tombstone");
      // the spoke's check finds the bucket different twice, repairs it, changes nothing, and leaves it
      // (a few rounds after the purge's last step: its first step, the values, was settled already)
      Cluster.await(() -> digestOf(purger).path("at").asLong() > purged + 1000 && digestOf(purger).path("settledBuckets").asInt() == 1,
          WITHIN, () -> "settled: " + digestOf(purger));
      long repairs = digestOf(purger).path("repairs").asLong();
      Thread.sleep(2000); // ten digest rounds
      assertEquals(repairs, digestOf(purger).path("repairs").asLong(), "repaired again: " + digestOf(purger));
      assertEquals(1, digestOf(purger).path("differingBuckets").asInt(), "it still differs: " + digestOf(purger));
      // a change in that bucket makes it worth a look again
      try (WsClient w = hub.connect("w")) {
        w.request(push("app", delta("c", "doomed", "title", "back", now(2, "w"))));
      }
      Cluster.await(() -> digestOf(purger).path("repairs").asLong() > repairs || digestOf(purger).path("settledBuckets").asInt() == 0,
          WITHIN, () -> "looked at again: " + digestOf(purger));
    }
  }

  /** The last digest comparison of database app on {@code n} with its one peer. */
  private static JsonNode digestOf(ClusterNode n) {
    return n.stats().path("peers").path(0).path("databases").path("app").path("digest");
  }

  /** No register of the document but perhaps its {@code $deleted}, which shows nothing. */
  private static boolean noValues(ClusterNode n, String id) {
    return n.registers("app").keySet().stream().noneMatch(k -> k.startsWith("c/" + id + "/") && !k.endsWith("/$deleted"));
  }

  private static boolean noDocument(ClusterNode n, String id) {
    return n.registers("app").keySet().stream().noneMatch(k -> k.startsWith("c/" + id + "/"));
  }

  private static void write(ClusterNode n, String client, int from, int to) {
    try (WsClient w = n.connect(client)) {
      for (int i = from; i < to; i++) w.request(push("app", delta("c", client + i, "v", i, now(i, client))));
    }
  }

  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path p : (Iterable<Path>) files::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(target);
        else Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }

  /** Each node compared {@code db}'s digest with each of its peers {@code rounds} times from now on. */
  private static void awaitDigestComparisons(List<ClusterNode> nodes, String db, int rounds) {
    Map<String, Set<Long>> seen = new HashMap<>();
    long since = System.currentTimeMillis();
    Cluster.await(() -> {
      for (ClusterNode n : nodes) {
        JsonNode peers = n.stats().path("peers");
        if (peers.isEmpty()) return false;
        for (JsonNode p : peers) {
          long at = p.path("databases").path(db).path("digest").path("at").asLong();
          Set<Long> times = seen.computeIfAbsent(n.name() + '>' + p.path("peer").asText(), k -> new HashSet<>());
          if (at >= since) times.add(at);
          if (times.size() < rounds) return false;
        }
      }
      return true;
    }, WITHIN, () -> rounds + " digest comparisons of " + db + " on each link: " + seen);
  }

  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
