package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.store.Store;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.Deltas;
import dev.syncline.server.testing.TcpProxy;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A link between two servers replicates both ways, and only between servers that share the cluster secret")
class LinkTest {
  static final Duration WITHIN = Duration.ofSeconds(20);

  @Test
  @DisplayName("writes on either server reach the other's subscribers; the link is live; digests and full state agree")
  void bothWays() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      c.link(0, 1);
      c.startAll();
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      try (WsClient onA = a.connect("writer-a"); WsClient onB = b.connect("writer-b")) {
        JsonNode subscribed = onB.request(sub("app", 0));
        String sid = subscribed.path("sid").asText();
        assertEquals("ack", onA.request(push("app", delta("todos", "1", "title", "from a", now(0, "writer-a")))).path("type").asText());
        JsonNode seen = onB.await(m -> "changes".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText())
            && m.path("deltas").size() > 0);
        assertEquals("from a", seen.path("deltas").get(0).path("value").asText());
        assertEquals("writer-a", seen.path("deltas").get(0).path("ts").asText().substring(19), "the origin is kept");
        onB.request(push("app", delta("todos", "1", "done", true, now(0, "writer-b"))));
      }
      c.awaitSameDigest("app", WITHIN);
      assertEquals(a.registers("app"), b.registers("app"));
      c.awaitLinksLive(WITHIN);
      JsonNode peer = a.stats().path("peers").get(0);
      assertEquals("dial", peer.path("direction").asText());
      assertEquals(b.serverId(), peer.path("peer").asText());
      assertEquals(0, peer.path("databases").path("app").path("lagDeltas").asLong());
      assertTrue(a.stats().path("replication").path("caughtUp").asBoolean());
    }
  }

  @Test
  @DisplayName("while the link is cut, the server written to counts what its peer has not confirmed, which the peer's own lag "
      + "cannot see; both go back to 0 once healed")
  void unconfirmedWhileCut() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      try (WsClient w = a.connect("w")) {
        w.request(push("app", delta("c", "first", "v", 1, now(0, "w"))));
      }
      c.awaitSameDigest("app", WITHIN);
      Cluster.await(() -> unconfirmed(a) == 0, WITHIN, () -> "confirmed: " + a.stats().path("peers"));
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      try (WsClient w = a.connect("w")) {
        for (int i = 0; i < 5; i++) w.request(push("app", delta("c", "cut" + i, "v", i, now(i, "w"))));
      }
      Cluster.await(() -> unconfirmed(a) >= 5, WITHIN, () -> "five unconfirmed: " + a.stats().path("peers"));
      for (JsonNode p : b.stats().path("peers")) {
        assertEquals(0, p.path("databases").path("app").path("lagDeltas").asLong(), "b cannot see what it was not told");
      }
      c.proxy(0, 1).heal();
      c.proxy(1, 0).heal();
      c.awaitSameDigest("app", WITHIN);
      Cluster.await(() -> unconfirmed(a) == 0, WITHIN, () -> "confirmed again: " + a.stats().path("peers"));
    }
  }

  @Test
  @DisplayName("after a restore, whose seqs jump 2^32 ahead, the figures behind count the seqs there are, not the jump")
  void lagAfterARestoreCountsSeqs() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      try (WsClient w = b.connect("w")) {
        for (int i = 0; i < 3; i++) w.request(push("app", delta("c", "before" + i, "v", i, now(i, "w"))));
      }
      c.awaitSameDigest("app", WITHIN);
      Cluster.await(() -> unconfirmed(b) == 0, WITHIN, () -> "confirmed: " + b.stats().path("peers"));
      b.stop();
      try (Store store = Store.openXodus(b.dataDir().resolve("store"), false, 8 << 20)) {
        store.renewEpochs(); // what `syncline restore` does to the copy it puts in place
      }
      c.proxy(0, 1).cut();
      c.proxy(1, 0).cut();
      c.start(1);
      long head = 0;
      try (WsClient w = b.connect("w")) {
        for (int i = 0; i < 2; i++) head = w.request(push("app", delta("c", "after" + i, "v", i, now(10 + i, "w")))).path("seq").asLong();
      }
      assertTrue(head > Store.EPOCH_SEQ_GAP, "the restore moved the seqs on: " + head);
      // a's confirmation is of the life before the restore: all of this one is unconfirmed, 3 + 2 seqs
      Cluster.await(() -> unconfirmed(b) == 5, WITHIN, () -> "five unconfirmed: " + b.stats().path("peers"));
      c.proxy(0, 1).heal();
      c.proxy(1, 0).heal();
      c.awaitSameDigest("app", WITHIN);
      Cluster.await(() -> unconfirmed(b) == 0, WITHIN, () -> "confirmed again: " + b.stats().path("peers"));
    }
  }

  @Test
  @DisplayName("a database destroyed here is no longer listed with what the peer confirmed of it")
  void destroyedDatabaseLeavesThePeersEntries() {
    try (Cluster c = Cluster.ring(2, false, cfg -> { })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      a.admin(admin("db.create", args().put("db", "tmp")));
      try (WsClient w = a.connect("w")) {
        w.request(push("tmp", delta("c", "x", "v", 1, now(0, "w"))));
      }
      c.awaitSameDigest("tmp", WITHIN);
      Cluster.await(() -> a.stats().path("peers").toString().contains("\"tmp\""), WITHIN, () -> "tmp listed: " + a.stats().path("peers"));
      a.admin(admin("db.destroy", args().put("db", "tmp")));
      Cluster.await(() -> !a.stats().path("peers").toString().contains("\"tmp\"")
          && !c.node(1).stats().path("peers").toString().contains("\"tmp\""), WITHIN,
          () -> "tmp gone from the entries: " + a.stats().path("peers") + c.node(1).stats().path("peers"));
    }
  }

  /** The most any of {@code n}'s links reports unconfirmed of {@code app}; -1 when none reports it. */
  private static long unconfirmed(ClusterNode n) {
    long most = -1;
    for (JsonNode p : n.stats().path("peers")) {
      JsonNode d = p.path("databases").path("app").path("unconfirmedDeltas");
      if (d.isNumber()) most = Math.max(most, d.asLong());
    }
    return most;
  }

  @Test
  @DisplayName("frames without data waiting behind a slow commit pause reading from the peer, then are all confirmed in order")
  void waitingFramesAreBounded() throws InterruptedException {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "w1")) {
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"app\",\"epoch\":\"e1\",\"head\":3001,\"createdAt\":"
            + System.currentTimeMillis() + ",\"systemHead\":0}");
        Cluster.await(() -> a.digest("app") != null, WITHIN, () -> "app made");
        int frames = 3 * FeedSink.MAX_WAITING;
        try (var held = dev.syncline.server.WriterHold.on(a.server())) {
          peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":1,\"deltas\":["
              + delta("n", "1", "text", "first", now(0, "srv-x")) + "]}");
          for (int seq = 2; seq <= frames; seq++) {
            peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":" + seq + ",\"deltas\":[]}");
          }
          Cluster.await(() -> waiting(a) >= FeedSink.MAX_WAITING, WITHIN, () -> "frames waiting: " + a.stats().path("peers"));
          Thread.sleep(300); // a server still reading would be at all of them by now
          assertEquals(FeedSink.MAX_WAITING, waiting(a), "reading paused once that many frames waited");
        }
        JsonNode last = peer.next(m -> "feed.ack".equals(m.path("type").asText()) && m.path("seq").asInt() == frames);
        assertEquals("app", last.path("db").asText());
        Cluster.await(() -> waiting(a) == 0, WITHIN, () -> "frames confirmed: " + a.stats().path("peers"));
      }
    }
  }

  @Test
  @DisplayName("a database offered while a destroy of it from another peer waits to be committed is not made after that destroy")
  void offerRacingADestroy() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient q = connectAsPeer(a, "srv-q", "d1"); WsClient p = connectAsPeer(a, "srv-p", "d2")) {
        long now = System.currentTimeMillis();
        q.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s0\",\"db\":\"$system\",\"epoch\":\"e0\",\"head\":1,\"createdAt\":" + (now - 60_000) + "}");
        q.send(WsClient.obj("ping"));
        q.next("pong"); // the offer is taken before the writer is held
        try (var held = dev.syncline.server.WriterHold.on(a.server())) {
          // q's $system: the database was destroyed there just now; queued behind the held writer
          q.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[{\"col\":\"databases\",\"id\":\"gone\","
              + "\"attr\":\"destroyed\",\"value\":true,\"ts\":\"" + now(0, "srv-q") + "\",\"seq\":1}]}");
          q.send(WsClient.obj("ping"));
          q.next("pong"); // q's frame is read, so queued first
          // p has not heard of the destroy and offers the life that began before it
          p.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"gone\",\"epoch\":\"old\",\"head\":5,\"createdAt\":" + (now - 30_000)
              + ",\"systemHead\":0}");
          p.send(WsClient.obj("ping"));
          p.next("pong"); // the offer was read, and its create queued after the destroy
        }
        assertEquals(1, q.next(m -> "feed.ack".equals(m.path("type").asText())).path("seq").asLong());
        // the writer runs its queue in order: once a later database is made, the create has been tried
        assertEquals("result", a.admin(admin("db.create", args().put("db", "later"))).path("type").asText());
        assertTrue(a.digest("gone") == null, "made again after its destroy, as a new life every server would take");
      }
    }
  }

  @Test
  @DisplayName("the cursor stored for a peer's feed never goes back: after quick reconnects while the writer is slow, a frame sent "
      + "again and committed after a newer one of the link before leaves it where it was")
  void storedCursorNeverGoesBack() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      String subscribed = "{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"app\",\"epoch\":\"e1\",\"head\":40,\"createdAt\":"
          + System.currentTimeMillis() + ",\"systemHead\":0}";
      WsClient second;
      try (WsClient first = connectAsPeer(a, "srv-x", "q1")) {
        first.sendRaw(subscribed);
        first.sendRaw(changes(10, delta("n", "1", "text", "ten", now(0, "srv-x"))));
        first.next(m -> "feed.ack".equals(m.path("type").asText()) && m.path("seq").asLong() == 10);
        try (var held = dev.syncline.server.WriterHold.on(a.server())) {
          first.sendRaw(changes(40, delta("n", "2", "text", "forty", now(1, "srv-x"))));
          first.send(WsClient.obj("ping"));
          first.next("pong"); // read, so queued behind the held writer
          first.close();
          // the peer links again at once, before 40 is stored, and sends from 10 again in a smaller page
          second = connectAsPeer(a, "srv-x", "q2");
          assertEquals(10, second.next("feed").path("cursors").path("app").path("seq").asLong(), "40 is not stored yet");
          second.sendRaw(subscribed);
          second.sendRaw(changes(20, delta("n", "3", "text", "twenty", now(2, "srv-x"))));
          second.send(WsClient.obj("ping"));
          second.next("pong"); // queued after 40
        }
        second.next(m -> "feed.ack".equals(m.path("type").asText()) && m.path("seq").asLong() == 20);
        second.close();
      }
      try (WsClient third = connectAsPeer(a, "srv-x", "q3")) {
        // 40 and everything before it is durable here: the next link asks from there, not for 20..40 again
        assertEquals(40, third.next("feed").path("cursors").path("app").path("seq").asLong(), "the stored cursor went back");
      }
    }
  }

  @Test
  @DisplayName("server.stats answers while a link's event loop cannot, without that link's figures, marked as missing")
  void statsDoNotWaitForABusyLink() throws Exception {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.link(1, 0);
      c.startAll();
      c.awaitLinksLive(WITHIN);
      var server = c.node(1).server();
      java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
      java.util.Set<String> held = java.util.concurrent.ConcurrentHashMap.newKeySet();
      try {
        // every event loop of the server busy (the link's among them): only a bound that needs none can answer
        Cluster.await(() -> {
          // a thread of its own each time: Vert.x keeps giving one outside thread the same context
          Thread t = new Thread(() -> server.vertx().getOrCreateContext().runOnContext(v -> {
            if (!held.add(Thread.currentThread().getName())) return;
            try {
              release.await();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }));
          t.start();
          return held.size() == 2; // ClusterNode's eventLoops
        }, WITHIN, () -> "every event loop held: " + held);
        JsonNode stats;
        try {
          stats = server.stats().toCompletionStage().toCompletableFuture().get(WITHIN.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
          throw new AssertionError("server.stats did not answer in " + WITHIN + " while the link's event loop was busy");
        }
        JsonNode dial = stats.path("peers").get(0);
        assertEquals("dial", dial.path("direction").asText(), stats.toString());
        assertTrue(dial.path("figuresMissing").asBoolean(), "marked: " + dial);
        assertTrue(dial.path("framesApplying").isMissingNode(), "no figures of the link's own: " + dial);
      } finally {
        release.countDown();
      }
      // once the link's loop answers again, so are its figures
      Cluster.await(() -> !c.node(1).stats().path("peers").get(0).has("figuresMissing"), WITHIN, () -> "figures back");
    }
  }

  private static String changes(long seq, JsonNode delta) {
    return "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":" + seq + ",\"deltas\":[" + delta + "]}";
  }

  private static int waiting(ClusterNode a) {
    int n = 0;
    for (JsonNode p : a.stats().path("peers")) n += p.path("framesWaiting").asInt();
    return n;
  }

  @Test
  @DisplayName("a database created on one server appears on the other; destroyed on one, it is gone from both")
  void databasesFollow() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      c.link(0, 1);
      c.startAll();
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      assertEquals("result", a.admin(admin("db.create", args().put("db", "notes"))).path("type").asText());
      Cluster.await(() -> b.digest("notes") != null, WITHIN, () -> "notes on b");
      try (WsClient onB = b.connect("w")) {
        onB.request(push("notes", delta("n", "1", "text", "hello", now(0, "w"))));
      }
      c.awaitSameDigest("notes", WITHIN);
      assertEquals("result", b.admin(admin("db.destroy", args().put("db", "notes"))).path("type").asText());
      Cluster.await(() -> a.digest("notes") == null, WITHIN, () -> "notes gone from a");
      assertNull(b.digest("notes"));
    }
  }

  @Test
  @DisplayName("a server with a wrong cluster secret is refused, says so, and never sees data")
  void wrongSecret() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      c.link(0, 1);
      c.node(0).tweak(cfg -> cfg.clusterSecret = "another secret, also of at least 32 characters");
      c.startAll();
      try (WsClient onB = c.node(1).connect("w")) {
        onB.request(push("app", delta("secret", "1", "x", "not for you", now(0, "w"))));
      }
      Cluster.await(() -> "refused".equals(c.node(0).stats().path("peers").get(0).path("state").asText()), WITHIN,
          () -> "the dialer to report the refusal: " + c.node(0).stats());
      assertTrue(c.node(0).registers("app").isEmpty(), "nothing crossed");
      JsonNode onAcceptor = c.node(1).stats().path("peers");
      assertEquals("refused", onAcceptor.get(0).path("state").asText());
      assertEquals("accept", onAcceptor.get(0).path("direction").asText());
    }
  }

  @Test
  @DisplayName("a hello with a forged or replayed peer proof is refused with unauthenticated and 1008")
  void forgedProof() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> { })) {
      c.startAll();
      ClusterNode a = c.node(0);
      PeerAuth auth = new PeerAuth(ClusterNode.CLUSTER_SECRET);
      long time = System.currentTimeMillis();
      String good = auth.dialProof("srv-x", "n1", time);
      String[][] cases = {
          {"srv-x", "n0", Long.toString(time), "00" + good.substring(2)},                         // forged
          {"srv-y", "n1", Long.toString(time), good},                                             // someone else's
          {"srv-x", "n2", Long.toString(time - 3_600_000), auth.dialProof("srv-x", "n2", time - 3_600_000)}, // stale
      };
      for (String[] k : cases) assertRefused(a, k[0], k[1], Long.parseLong(k[2]), k[3]);
      try (WsClient first = WsClient.connect(a.port())) {
        JsonNode welcome = first.request(peerHello("srv-x", "n1", time, good));
        assertEquals("welcome", welcome.path("type").asText(), welcome.toString());
        assertEquals(auth.acceptProof(a.serverId(), "srv-x", "n1"), welcome.path("peer").path("proof").asText());
      }
      assertRefused(a, "srv-x", "n1", time, good); // the same hello again
    }
  }

  @Test
  @DisplayName("strangers' peer hellos fill no list: without a clusterSecret none is kept, with one only the latest 100")
  void strangersFillNoList() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> { })) {
      c.startAll();
      ClusterNode a = c.node(0);
      for (int i = 0; i < 130; i++) assertRefused(a, "fake-" + i, "n" + i, System.currentTimeMillis(), "00");
      JsonNode peers = a.stats().path("peers");
      assertEquals(100, peers.size(), "the latest 100 refusals: " + peers.size());
      assertTrue(peers.findValuesAsText("peer").contains("fake-129"), "the newest is listed");
      assertFalse(peers.findValuesAsText("peer").contains("fake-0"), "the oldest made room");
    }
    try (TestServer alone = TestServer.start(); WsClient raw = WsClient.connect(alone.port())) { // no clusterSecret
      JsonNode answer = raw.request(peerHello("fake", "n", System.currentTimeMillis(), "00"));
      assertEquals("unauthenticated", answer.path("code").asText(), answer.toString());
      JsonNode stats = alone.admin(Deltas.admin("server.stats", Deltas.args()));
      assertEquals(0, stats.path("data").path("peers").size(), stats.toString());
    }
  }

  @Test
  @DisplayName("a peer's well-formed changes page is applied and acknowledged; a malformed one fails the link and stores nothing")
  void peerPages() {
    try (Cluster c = Cluster.unlinked(1, false, LinkTest::quietPeerPings)) {
      c.startAll();
      ClusterNode a = c.node(0);
      long time = System.currentTimeMillis();
      try (WsClient peer = connectAsPeer(a, "srv-x", "n1")) {
        peer.send(WsClient.obj("subscribed").put("sid", "s1").put("db", "app").put("epoch", "e1").put("head", 2)
            .put("createdAt", time));
        // the hub's own form: a committed seq on each delta
        // its second delta is stamped 20 s ahead (inside maxClockSkewMs), its third back at now
        String ahead = Deltas.ts(System.currentTimeMillis() + 20_000, 7, "srv-x");
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":1,\"deltas\":[{\"col\":\"c\",\"id\":\"d1\","
            + "\"attr\":\"v\",\"value\":{\"n\":[1.50,null]},\"ts\":\"" + now(0, "srv-x") + "\",\"seq\":1},"
            + "{\"col\":\"c\",\"id\":\"d1\",\"attr\":\"w\",\"value\":2,\"ts\":\"" + ahead + "\",\"seq\":1},"
            + "{\"col\":\"c\",\"id\":\"d1\",\"attr\":\"x\",\"value\":3,\"ts\":\"" + now(1, "srv-x") + "\",\"seq\":1}]}");
        JsonNode ack = peer.next("feed.ack");
        assertEquals(1, ack.path("seq").asLong(), ack.toString());
        assertEquals("{\"n\":[1.50,null]}", a.registers("app").get("c/d1/v").value().toString());
        // the server's clock moved past the page's latest ts: what it stamps next orders after it
        var systemBefore = a.registers("$system");
        assertEquals("result", a.admin(admin("user.create", args().put("username", "carol").put("password", "correct horse battery")))
            .path("type").asText());
        var written = new java.util.HashMap<>(a.registers("$system"));
        written.entrySet().removeIf(e -> e.getValue().equals(systemBefore.get(e.getKey())));
        assertFalse(written.isEmpty(), "the user was stored");
        written.forEach((key, reg) -> assertTrue(reg.ts().compareTo(ahead) > 0, key + " stamped " + reg.ts() + ", not after " + ahead));
        // an empty collection name: the tree reader says what is wrong, and the link fails
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":2,\"deltas\":[{\"col\":\"\",\"id\":\"d2\","
            + "\"attr\":\"v\",\"value\":1,\"ts\":\"" + now(1, "srv-x") + "\",\"seq\":2}]}");
        peer.awaitClose();
      }
      assertEquals(3, a.registers("app").size(), "nothing of the malformed page is stored");
    }
  }

  @Test
  @DisplayName("a peer's feed of a database that ended because it was destroyed there ends here; one that failed there drops "
      + "the link, so the next one resumes it")
  void peerFeedErrors() {
    try (Cluster c = Cluster.unlinked(1, false, LinkTest::quietPeerPings)) {
      c.startAll();
      ClusterNode a = c.node(0);
      long now = System.currentTimeMillis();
      try (WsClient peer = connectAsPeer(a, "srv-x", "n3")) {
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s0\",\"db\":\"$system\",\"epoch\":\"e0\",\"head\":0,\"createdAt\":1}");
        peer.sendRaw("{\"type\":\"synced\",\"sid\":\"s0\",\"seq\":0}");
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"app\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":" + now + "}");
        peer.sendRaw("{\"type\":\"error\",\"code\":\"not_found\",\"message\":\"database app was destroyed\",\"sid\":\"s1\"}");
        peer.send(WsClient.obj("ping"));
        peer.next("pong"); // still linked
        assertEquals("live", a.stats().path("peers").get(0).path("state").asText(),
            "the feed that ended was the only one not caught up: " + a.stats().path("peers"));
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s2\",\"db\":\"app\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":" + now + "}");
        peer.sendRaw("{\"type\":\"error\",\"code\":\"internal\",\"message\":\"catch-up read failed\",\"sid\":\"s2\"}");
        peer.awaitClose();
      }
      String errors = "";
      for (JsonNode p : a.stats().path("peers")) errors += p.path("lastError").asText();
      assertTrue(errors.contains("the peer's feed failed: catch-up read failed"), "dropped for the failed feed: " + a.stats().path("peers"));
    }
  }

  @Test
  @DisplayName("a repair page is merged when it answers this server's repair.get, a page nobody asked for is not; one with "
      + "a malformed delta fails the link, stores nothing, and the server serves on")
  void peerRepairPages() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> {
      quietPeerPings(cfg);
      cfg.digestIntervalMs = 100;
    })) {
      c.startAll();
      ClusterNode a = c.node(0);
      long now = System.currentTimeMillis();
      try (WsClient peer = connectAsPeer(a, "srv-x", "n2")) {
        // the fake peer's feed of app, empty and caught up: the server starts comparing digests with it
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"app\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":" + now + "}");
        peer.sendRaw("{\"type\":\"synced\",\"sid\":\"s1\",\"seq\":0}");
        peer.sendRaw(repairPage(99, "{\"col\":\"c\",\"id\":\"unasked\",\"attr\":\"v\",\"value\":0,\"ts\":\"" + now(0, "srv-x") + "\"}"));
        // every bucket differs, twice in a row: the server asks for the registers of all of them
        JsonNode repairGet = null;
        while (repairGet == null) {
          JsonNode m = peer.next(x -> "digest.get".equals(x.path("type").asText()) || "repair.get".equals(x.path("type").asText()));
          if ("repair.get".equals(m.path("type").asText())) {
            repairGet = m;
            continue;
          }
          var digest = WsClient.obj("digest").put("db", "app");
          digest.set("rid", m.get("rid"));
          var buckets = digest.putArray("buckets");
          for (int i = 0; i < 256; i++) buckets.add("not this");
          peer.send(digest);
        }
        assertEquals(256, repairGet.path("buckets").size(), repairGet.toString());
        peer.sendRaw(repairPage(repairGet.path("rid").asLong(),
            "{\"col\":\"c\",\"id\":\"r1\",\"attr\":\"v\",\"value\":1,\"ts\":\"" + now(1, "srv-x") + "\",\"seq\":4}"));
        Cluster.await(() -> a.registers("app").containsKey("c/r1/v"), WITHIN, () -> "the repaired register " + a.registers("app"));
        // an empty collection name: before repair pages were checked as feed pages are, this was stored
        peer.sendRaw(repairPage(repairGet.path("rid").asLong(),
            "{\"col\":\"\",\"id\":\"r2\",\"attr\":\"v\",\"value\":2,\"ts\":\"" + now(2, "srv-x") + "\"}"));
        peer.awaitClose();
      }
      try (WsClient peer = connectAsPeer(a, "srv-x", "n3")) {
        peer.sendRaw(repairPage(1, "{\"col\":\"c\",\"id\":\"r3\",\"attr\":\"v\",\"value\":3,\"ts\":\"not-a-timestamp\"}"));
        peer.awaitClose();
      }
      try (WsClient writer = a.connect("writer-a")) {
        assertEquals("ack", writer.request(push("app", delta("c", "w1", "v", 4, now(0, "writer-a")))).path("type").asText());
      }
      assertEquals(java.util.Set.of("c/r1/v", "c/w1/v"), a.registers("app").keySet(),
          "the page asked for is merged; nothing of the unasked or malformed pages is");
    }
  }

  @Test
  @DisplayName("a peer's repair.get is answered page by page, with its rid and buckets, until every register of them is sent")
  void repairAnsweredInPages() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> {
      quietPeerPings(cfg);
      cfg.catchUpPageDeltas = 4;
    })) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient writer = a.connect("writer-a")) {
        JsonNode[] deltas = new JsonNode[10];
        for (int i = 0; i < deltas.length; i++) deltas[i] = delta("c", "d" + i, "v", i, now(i, "writer-a"));
        assertEquals("ack", writer.request(push("app", deltas)).path("type").asText());
      }
      java.util.Set<String> sent = new java.util.HashSet<>();
      int pages = 0;
      try (WsClient peer = connectAsPeer(a, "srv-x", "pages")) {
        String after = null;
        boolean more = true;
        for (long rid = 1; more; rid++) {
          var get = WsClient.obj("repair.get").put("rid", rid).put("db", "app");
          var buckets = get.putArray("buckets");
          for (int b = 0; b < 256; b++) buckets.add(b);
          if (after != null) get.put("after", after);
          peer.send(get);
          long asked = rid;
          JsonNode page = peer.next(m -> "repair".equals(m.path("type").asText()) && m.path("rid").asLong() == asked);
          assertEquals("app", page.path("db").asText());
          assertEquals(256, page.path("buckets").size());
          for (JsonNode d : page.path("deltas")) {
            assertTrue(sent.add(d.path("col").asText() + "/" + d.path("id").asText() + "/" + d.path("attr").asText()), "sent once: " + d);
          }
          more = page.path("more").asBoolean();
          after = page.path("after").asText(null);
          pages++;
        }
      }
      assertEquals(a.registers("app").keySet(), sent, "every register, once");
      assertTrue(pages >= 3, "pages of about 4 deltas (whole documents): " + pages);
    }
  }

  @Test
  @DisplayName("a peer's message with a field no server sends fails the link, and none of it is kept: bad database names, "
      + "a future createdAt, a seq going back, changes for another database than the subscription's, a lone surrogate, an ack past the head, "
      + "a bucket number out of range, a bad database in digest.get or repair.get, a negative or fractional feed cursor")
  void peerFieldsChecked() {
    // pings far apart: a link is dropped for what it was sent, not because this fake peer does not ping
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      long now = System.currentTimeMillis();
      JsonNode databasesBefore = a.admin(admin("db.list", null)).path("data").path("databases");
      String subscribedApp = "{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"app\",\"epoch\":\"e1\",\"head\":9,\"createdAt\":" + now + "}";
      String good = "{\"col\":\"c\",\"id\":\"ok\",\"attr\":\"v\",\"value\":1,\"ts\":\"" + now(0, "srv-x") + "\"}";
      int nonce = 0;
      for (String[] hostile : new String[][] {
          {"{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"no such/db\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":" + now + "}"},
          {"{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"future\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":" + (now + 86_400_000L) + "}"},
          {"{\"type\":\"subscribed\",\"sid\":\"\",\"db\":\"blank\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":" + now + "}"},
          {subscribedApp, "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":-3,\"deltas\":[" + good + "]}"},
          {subscribedApp, "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":5,\"deltas\":[]}",
              "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":4,\"deltas\":[" + good + "]}"},
          {subscribedApp, "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"other\",\"seq\":7,\"deltas\":[" + good + "]}"},
          {subscribedApp, "{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":6,\"deltas\":[{\"col\":\"c\",\"id\":\"lone\","
              + "\"attr\":\"v\",\"value\":{\"k\":\"\\ud800x\"},\"ts\":\"" + now(1, "srv-x") + "\"}]}"},
          {"{\"type\":\"repair.get\",\"rid\":1,\"db\":\"app\",\"buckets\":[-1]}"},
          {"{\"type\":\"repair.get\",\"rid\":1,\"db\":\"no such/db\",\"buckets\":[1]}"},
          {"{\"type\":\"digest.get\",\"rid\":1,\"db\":7}"},
          {"{\"type\":\"feed\",\"cursors\":{\"app\":{\"epoch\":\"e1\",\"seq\":-5}}}"},
          {"{\"type\":\"feed\",\"cursors\":{\"app\":{\"epoch\":7,\"seq\":5}}}"},
          {"{\"type\":\"feed.ack\",\"db\":\"app\",\"epoch\":\"" + epochOf(a, "app") + "\",\"seq\":1000000,\"head\":0,\"headEpoch\":\"\"}"}}) {
        try (WsClient peer = connectAsPeer(a, "srv-x", "h" + nonce++)) {
          for (String message : hostile) peer.sendRaw(message);
          peer.awaitClose();
        }
      }
      // an ack of a life the server no longer has is late, not hostile: dropped, and the link lives on
      try (WsClient peer = connectAsPeer(a, "srv-x", "h" + nonce)) {
        peer.sendRaw("{\"type\":\"feed.ack\",\"db\":\"app\",\"epoch\":\"an-old-life\",\"seq\":1000000,\"head\":0,\"headEpoch\":\"\"}");
        peer.send(WsClient.obj("ping"));
        peer.next("pong");
        assertFalse(peer.isClosed());
      }
      assertEquals(databasesBefore, a.admin(admin("db.list", null)).path("data").path("databases"), "no database was made");
      assertEquals(java.util.Map.of(), a.registers("app"), "nothing was stored");
      try (WsClient writer = a.connect("writer-a")) {
        assertEquals("ack", writer.request(push("app", delta("c", "w1", "v", 4, now(0, "writer-a")))).path("type").asText());
      }
    }
  }

  @Test
  @DisplayName("a peer's change of this server's own secrets (the token signing key) fails the link, in a feed or a repair page")
  void peerCannotWriteLocalCollections() {
    // pings far apart: the link is dropped for the frame, not because this fake peer does not ping
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      String before;
      try (WsClient anyone = a.connect("before")) {
        before = anyone.request(WsClient.obj("login").put("username", "admin").put("password", TestServer.ADMIN_PASSWORD))
            .path("token").asText();
      }
      String key = "{\"col\":\"secrets\",\"id\":\"jwt\",\"attr\":\"key\",\"value\":\"the peer's key\",\"ts\":\"" + now(0, "srv-x") + "\"}";
      try (WsClient peer = connectAsPeer(a, "srv-x", "s1")) {
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s0\",\"db\":\"$system\",\"epoch\":\"e0\",\"head\":1,\"createdAt\":1}");
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[" + key + "]}");
        peer.awaitClose();
        assertTrue(peer.receivedOfType("feed.ack").isEmpty(), "applied: " + peer.receivedOfType("feed.ack"));
      }
      try (WsClient later = WsClient.connect(a.port())) {
        JsonNode welcome = later.request(WsClient.obj("hello").put("protocol", 1).put("clientId", "later").put("token", before));
        assertEquals("admin", welcome.path("user").path("id").asText(), "a token signed before is still good: " + welcome);
      }
    }
  }

  /** The epoch a server serves its database at, as a peer asking for its feed is told. */
  private static String epochOf(ClusterNode server, String db) {
    try (WsClient peer = connectAsPeer(server, "srv-y", "epoch-of")) {
      var feed = WsClient.obj("feed");
      feed.putObject("cursors");
      peer.send(feed);
      return peer.await(m -> "subscribed".equals(m.path("type").asText()) && db.equals(m.path("db").asText())).path("epoch").asText();
    }
  }

  /** A connection that has said hello as peer {@code id} with a good proof, and been welcomed. */
  @Test
  @DisplayName("a peer that takes the connection and never answers the upgrade is dialled again, not waited for forever")
  void silentPeerIsDialledAgain() throws Exception {
    try (java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      java.util.concurrent.atomic.AtomicInteger accepted = new java.util.concurrent.atomic.AtomicInteger();
      java.util.List<java.net.Socket> held = new java.util.concurrent.CopyOnWriteArrayList<>();
      Thread acceptor = new Thread(() -> {
        try {
          while (true) {
            held.add(silent.accept()); // read nothing, answer nothing
            accepted.incrementAndGet();
          }
        } catch (java.io.IOException closed) {
          // the test is over
        }
      });
      acceptor.setDaemon(true);
      acceptor.start();
      try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peers.add("ws://127.0.0.1:" + silent.getLocalPort() + "/sync"))) {
        c.startAll();
        Cluster.await(() -> accepted.get() >= 2, java.time.Duration.ofSeconds(15), () -> "a second dial: " + accepted.get());
      } finally {
        for (java.net.Socket s : held) s.close();
      }
    }
  }

  /**
   * For a test that plays a peer by hand and is silent between its steps: the server drops a link
   * it hears nothing from for three ping intervals (1.5 s in tests), which a busy machine reaches.
   */
  static void quietPeerPings(dev.syncline.server.config.ServerConfig cfg) {
    cfg.peerPingIntervalMs = 60_000;
  }

  static WsClient connectAsPeer(ClusterNode server, String id, String nonce) {
    long time = System.currentTimeMillis();
    WsClient peer = WsClient.connect(server.port());
    assertEquals("welcome", peer.request(peerHello(id, nonce, time, new PeerAuth(ClusterNode.CLUSTER_SECRET).dialProof(id, nonce, time)))
        .path("type").asText());
    return peer;
  }

  private static String repairPage(long rid, String delta) {
    return "{\"type\":\"repair\",\"rid\":" + rid + ",\"db\":\"app\",\"more\":false,\"deltas\":[" + delta + "]}";
  }

  private static void assertRefused(ClusterNode a, String id, String nonce, long time, String proof) {
    try (WsClient raw = WsClient.connect(a.port())) {
      JsonNode answer = raw.request(peerHello(id, nonce, time, proof));
      assertEquals("unauthenticated", answer.path("code").asText(), answer.toString());
      assertEquals(1008, raw.awaitClose());
    }
  }

  private static com.fasterxml.jackson.databind.node.ObjectNode peerHello(String id, String nonce, long time, String proof) {
    var hello = WsClient.obj("hello").put("protocol", 1).put("clientId", id);
    hello.putObject("peer").put("serverId", id).put("nonce", nonce).put("time", time).put("proof", proof);
    return hello;
  }

  @Test
  @DisplayName("a new, empty server that names a peer gets everything, and says when it has caught up")
  void bootstrap() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> { })) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient w = a.connect("w")) {
        for (int batch = 0; batch < 20; batch++) {
          var p = push("app");
          for (int i = 0; i < 100; i++) p.withArray("deltas").add(delta("c", "d" + (batch * 100 + i), "v", i, now(batch * 100 + i, "w")));
          assertEquals("ack", w.request(p).path("type").asText());
        }
      }
      ClusterNode fresh = c.add("fresh", false, cfg -> cfg.catchUpPageDeltas = 300);
      c.link(c.nodes().indexOf(fresh), 0);
      c.startAll();
      c.awaitLinksLive(WITHIN);
      assertTrue(fresh.stats().path("replication").path("caughtUp").asBoolean());
      assertEquals(2000, fresh.registers("app").size());
      c.awaitSameDigest("app", WITHIN);
      assertFalse(fresh.stats().path("peers").get(0).path("databases").path("$system").isMissingNode(), "$system too");
      assertNotNull(fresh.digest("$system"));
    }
  }
  @Test
  @DisplayName("a link whose one frame takes longer than three ping intervals to arrive is not dropped for silence: it catches up")
  void slowFrameIsNotSilence() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      TcpProxy toA = c.link(1, 0);
      c.start(0);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      try (WsClient w = a.connect("w")) {
        String big = "x".repeat(40_000);
        var p = push("app");
        for (int i = 0; i < 10; i++) p.withArray("deltas").add(delta("c", "d" + i, "v", big, now(i, "w")));
        assertEquals("ack", w.request(p).path("type").asText());
      }
      // 100 KB/s: the ~400 KB catch-up page takes ~4 s, more than three 500 ms ping intervals
      toA.throttle(100_000);
      c.start(1);
      try {
        c.awaitSameDigest("app", Duration.ofSeconds(45));
      } catch (AssertionError e) {
        throw new AssertionError(e.getMessage() + "; b's link: " + b.stats().path("peers"), e);
      }
    }
  }

  @Test
  @DisplayName("a stalled link, whose bytes stop, is still dropped for silence")
  void stalledLinkDropped() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      TcpProxy toA = c.link(1, 0);
      c.startAll();
      c.awaitLinksLive(WITHIN);
      toA.stall();
      Cluster.await(() -> c.node(1).stats().path("peers").get(0).path("lastError").asText().contains("heard nothing"), WITHIN,
          () -> "dropped: " + c.node(1).stats().path("peers"));
      toA.heal();
      c.awaitLinksLive(WITHIN);
    }
  }

  @Test
  @DisplayName("a database destroyed and created again on the source while the sink catches up ends the same on both, the link live")
  void recreatedDuringCatchUp() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> cfg.catchUpPageDeltas = 10)) {
      TcpProxy toA = c.link(1, 0);
      c.start(0);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      assertEquals("result", a.admin(admin("db.create", args().put("db", "tmp"))).path("type").asText());
      try (WsClient w = a.connect("w")) {
        for (int k = 0; k < 10; k++) {
          var p = push("tmp");
          for (int i = 0; i < 50; i++) p.withArray("deltas").add(delta("c", "d" + (k * 50 + i), "v", "x".repeat(200), now(k * 50 + i, "w")));
          assertEquals("ack", w.request(p).path("type").asText());
        }
      }
      toA.throttle(30_000);
      c.start(1);
      Cluster.await(() -> b.digest("tmp") != null && b.digest("tmp").path("head").asLong() > 0, WITHIN, () -> "tmp on b");
      long headOnB = b.digest("tmp").path("head").asLong();
      assertTrue(headOnB < 500, "still catching up: " + headOnB);
      assertEquals("result", a.admin(admin("db.destroy", args().put("db", "tmp"))).path("type").asText());
      Cluster.await(() -> a.digest("tmp") == null, WITHIN, () -> "tmp gone on a");
      assertEquals("result", a.admin(admin("db.create", args().put("db", "tmp"))).path("type").asText());
      try (WsClient w = a.connect("w")) {
        assertEquals("ack", w.request(push("tmp", delta("c", "new", "v", 1, Deltas.ts(System.currentTimeMillis() + 5, 0, "w"))))
            .path("type").asText());
      }
      toA.throttle(0);
      c.awaitSameDigest("tmp", Duration.ofSeconds(30));
      assertEquals(java.util.Set.of("c/new/v"), b.registers("tmp").keySet().stream().filter(k -> !k.contains("$owner"))
          .collect(java.util.stream.Collectors.toSet()));
      c.awaitLinksLive(WITHIN);
    }
  }
}
