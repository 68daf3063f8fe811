package dev.syncline.server.replication;

import static dev.syncline.server.replication.LinkTest.connectAsPeer;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.store.Store;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.Deltas;
import dev.syncline.server.testing.WsClient;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A database a peer brings comes with a policy its admin gave it there, which travels in the
 * peer's {@code $system}, a feed of its own. Until it is here, the database is not open under this
 * server's policy for new databases (anyone, in tests).
 */
@DisplayName("A database a peer brings before its policy")
class PolicyArrivalTest {

  @Test
  @DisplayName("is not here for clients, nor offered to other peers, until the peer's $system through systemHead is applied; "
      + "then its policy is in force")
  void notHereUntilItsPolicyIs() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p1")) {
        bring(a, peer, "team", 1);

        try (WsClient anyone = a.connect("anyone")) {
          JsonNode answer = anyone.request(sub("team", 0));
          assertEquals("not_found", answer.path("code").asText(), "open under the policy for new databases: " + answer);
          answer = anyone.request(push("team", Deltas.delta("notes", "n1", "text", "hi", now(0, anyone.clientId()))));
          assertEquals("not_found", answer.path("code").asText(), answer.toString());
        }
        try (WsClient other = connectAsPeer(a, "srv-y", "p2")) {
          assertTrue(offeredUpToAPong(other).stream().noneMatch(m -> "team".equals(m.path("db").asText())),
              "offered to another peer, which would open it under its own policy for new databases");

          // the peer's $system through 1: the policy its admin gave team (staff only)
          peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[" + staffOnly(now(0, "srv-x")) + "]}");
          assertEquals(1, peer.next(m -> "feed.ack".equals(m.path("type").asText()) && "$system".equals(m.path("db").asText()))
              .path("seq").asLong());

          try (WsClient anyone = a.connect("anyone-2")) {
            JsonNode answer = anyone.request(sub("team", 0));
            assertEquals("forbidden", answer.path("code").asText(), "the peer's policy is in force: " + answer);
          }
          JsonNode offered = other.next(m -> "subscribed".equals(m.path("type").asText()) && "team".equals(m.path("db").asText()));
          assertTrue(offered.path("systemHead").asLong() > 0, "with where its policy is: " + offered);
        }
      }
    }
  }

  @Test
  @DisplayName("that the peer has none for is open under this server's policy for new databases once the peer's $system "
      + "through systemHead is applied, as on the peer")
  void noPolicyThereEither() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p3")) {
        bring(a, peer, "loaded", 2);
        String ts = now(0, "srv-x");
        // through 1 only: not yet
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[" + policyOf("elsewhere", "read", ts) + "]}");
        peer.next("feed.ack");
        try (WsClient anyone = a.connect("anyone")) {
          assertEquals("not_found", anyone.request(sub("loaded", 0)).path("code").asText());
        }
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":2,\"deltas\":[]}");
        assertEquals(2, peer.next("feed.ack").path("seq").asLong());
        try (WsClient anyone = a.connect("anyone-2")) {
          JsonNode answer = anyone.request(sub("loaded", 0));
          assertEquals("subscribed", answer.path("type").asText(), answer.toString());
        }
      }
    }
  }

  @Test
  @DisplayName("waits for the peer's $system through systemHead, not only for the database's own policy: its collections' come after")
  void collectionPoliciesToo() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p4")) {
        bring(a, peer, "club", 2);
        String ts = now(0, "srv-x");
        StringBuilder open = new StringBuilder();
        for (String action : List.of("read", "create", "update", "destroy")) {
          if (open.length() > 0) open.append(',');
          open.append(policyAttr("club", action, "[\"$all\"]", ts));
        }
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[" + open + "]}");
        assertEquals(1, peer.next("feed.ack").path("seq").asLong());
        try (WsClient anyone = a.connect("anyone")) {
          assertEquals("not_found", anyone.request(sub("club", 0)).path("code").asText(), "open before its collection's policy came");
        }
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":2,\"deltas\":["
            + policyAttr("club/secret", "read", "[\"role:staff\"]", now(1, "srv-x")) + "]}");
        assertEquals(2, peer.next("feed.ack").path("seq").asLong());
        try (WsClient anyone = a.connect("anyone-2")) {
          var secret = sub("club", 0);
          secret.putArray("cols").add("secret");
          assertEquals("forbidden", anyone.request(secret).path("code").asText(), "the collection's policy is in force");
          assertEquals("subscribed", anyone.request(sub("club", 0)).path("type").asText());
        }
      }
    }
  }

  @Test
  @DisplayName("whose own policy came before the offer still waits for its collections' policies, later in the same $system")
  void ownPolicyFirst() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p10")) {
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s0\",\"db\":\"$system\",\"epoch\":\"e0\",\"head\":2,\"createdAt\":"
            + (System.currentTimeMillis() - 1000) + "}");
        String ts = now(0, "srv-x");
        StringBuilder open = new StringBuilder();
        for (String action : List.of("read", "create", "update", "destroy")) {
          if (open.length() > 0) open.append(',');
          open.append(policyAttr("early", action, "[\"$all\"]", ts));
        }
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[" + open + "]}");
        assertEquals(1, peer.next("feed.ack").path("seq").asLong());
        // offered now, made when the peer's $system was at 2: its collection's policy is still on its way
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"early\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":"
            + System.currentTimeMillis() + ",\"systemHead\":2}");
        awaitDatabase(a, "early");
        try (WsClient anyone = a.connect("anyone")) {
          var secret = sub("early", 0);
          secret.putArray("cols").add("secret");
          JsonNode answer = anyone.request(secret);
          assertEquals("not_found", answer.path("code").asText(), "open before its collection's policy came: " + answer);
        }
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":2,\"deltas\":["
            + policyAttr("early/secret", "read", "[\"role:staff\"]", now(1, "srv-x")) + "]}");
        assertEquals(2, peer.next("feed.ack").path("seq").asLong());
        try (WsClient anyone = a.connect("anyone-2")) {
          var secret = sub("early", 0);
          secret.putArray("cols").add("secret");
          assertEquals("forbidden", anyone.request(secret).path("code").asText(), "the collection's policy is in force");
        }
      }
    }
  }

  @Test
  @DisplayName("offered by two peers at once, waits for either's $system")
  void twoPeersAtOnce() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient p1 = connectAsPeer(a, "srv-x", "p5"); WsClient p2 = connectAsPeer(a, "srv-y", "p6")) {
        bring(a, p1, "shared", 1);
        bring(a, p2, "shared", 1);
        try (WsClient anyone = a.connect("anyone")) {
          assertEquals("not_found", anyone.request(sub("shared", 0)).path("code").asText());
        }
        p2.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[]}");
        assertEquals(1, p2.next("feed.ack").path("seq").asLong());
        awaitSubscribed(a, "shared");

        // a peer forgotten for good: what waited only for its $system opens (an admin sets its policies)
        bring(a, p1, "orphan", 5);
        try (WsClient anyone = a.connect("anyone-3")) {
          assertEquals("not_found", anyone.request(sub("orphan", 0)).path("code").asText());
        }
        p1.close(); // a linked peer is not forgotten
        Cluster.await(() -> "result".equals(a.admin(dev.syncline.server.testing.Deltas.admin("peer.forget",
            dev.syncline.server.testing.Deltas.args().put("serverId", "srv-x"))).path("type").asText()), LinkTest.WITHIN, () -> "srv-x forgotten");
        awaitSubscribed(a, "orphan");
      }
    }
  }

  @Test
  @DisplayName("still waits after a restart, before and after the peer offers it again")
  void waitsAcrossARestart() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p7")) {
        bring(a, peer, "kept", 1);
      }
      a.stop();
      a.start();
      try (WsClient anyone = a.connect("anyone-first")) {
        assertEquals("not_found", anyone.request(sub("kept", 0)).path("code").asText(), "the wait was lost in the restart");
      }
      try (WsClient peer = connectAsPeer(a, "srv-x", "p8")) {
        bring(a, peer, "kept", 1);
        try (WsClient anyone = a.connect("anyone")) {
          assertEquals("not_found", anyone.request(sub("kept", 0)).path("code").asText(), "open before the peer's $system came");
        }
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":1,\"deltas\":[]}");
        assertEquals(1, peer.next("feed.ack").path("seq").asLong());
        awaitSubscribed(a, "kept");
      }
    }
  }

  @Test
  @DisplayName("a wait ends with the life of its database: destroyed here, a new life offered without one is there at once")
  void waitEndsWithItsDatabase() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p9")) {
        bring(a, peer, "brief", 1);
        assertEquals("not_found", a.admin(sub("brief", 0)).path("code").asText());
        assertEquals("result", a.admin(dev.syncline.server.testing.Deltas.admin("db.destroy",
            dev.syncline.server.testing.Deltas.args().put("db", "brief"))).path("type").asText());
        // a life begun after the destroy, whose policies are here already (systemHead 0)
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s2\",\"db\":\"brief\",\"epoch\":\"e2\",\"head\":0,\"createdAt\":"
            + (System.currentTimeMillis() + 1000) + ",\"systemHead\":0}");
        awaitDatabase(a, "brief");
        // the name was destroyed, so admins only (until db.create); but there, not hidden
        assertEquals("subscribed", a.admin(sub("brief", 0)).path("type").asText());
      }
    }
  }

  @Test
  @DisplayName("waits for the peer's $system of the life it was offered in: after a restore there, a seq of the new life "
      + "that passes the old head does not end it before the new life's head at the next link is here")
  void aNewLifeOfThePeersSystemDoesNotEndTheWaitEarly() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p11")) {
        bring(a, peer, "team", 5);
      }
      // the peer was restored from a backup: a new life of its $system, whose seqs went 2^32 on, where
      // its admin gave team its policy (staff only) again; the restored history before it holds none of team's
      long head = Store.EPOCH_SEQ_GAP + 7;
      try (WsClient peer = connectAsPeer(a, "srv-x", "p12")) {
        offerSystem(peer, "e0-restored", head);
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"team\",\"epoch\":\"e1-restored\",\"head\":0,\"createdAt\":"
            + System.currentTimeMillis() + ",\"systemHead\":" + head + "}");
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":5,\"deltas\":["
            + policyOf("elsewhere", "read", now(0, "srv-x")) + "]}");
        assertEquals(5, peer.next("feed.ack").path("seq").asLong());
        try (WsClient anyone = a.connect("anyone")) {
          JsonNode answer = anyone.request(sub("team", 0));
          assertEquals("not_found", answer.path("code").asText(), "open on a seq of the peer's old $system life: " + answer);
        }
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":" + head + ",\"deltas\":[" + staffOnly(now(1, "srv-x")) + "]}");
        peer.next(m -> "feed.ack".equals(m.path("type").asText()) && m.path("seq").asLong() == head);
        try (WsClient anyone = a.connect("anyone-2")) {
          JsonNode answer = anyone.request(sub("team", 0));
          assertEquals("forbidden", answer.path("code").asText(), "the peer's policy is in force: " + answer);
        }
      }
    }
  }

  @Test
  @DisplayName("a wait on a peer whose $system began a new life with lower seqs (restored from an older backup), that no "
      + "longer offers the database, ends once that life's head at the next link is here, also after a restart")
  void aNewLifeWithLowerSeqsEndsTheWait() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "p13")) {
        bring(a, peer, "stranded", Store.EPOCH_SEQ_GAP + 10); // offered in a life whose seqs a restore had moved on
      }
      a.stop();
      a.start();
      try (WsClient peer = connectAsPeer(a, "srv-x", "p14")) {
        offerSystem(peer, "e0-older", 3); // restored from a backup of the life before: no stranded there
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s0\",\"db\":\"$system\",\"seq\":3,\"deltas\":["
            + policyOf("elsewhere", "read", now(0, "srv-x")) + "]}");
        assertEquals(3, peer.next("feed.ack").path("seq").asLong());
        // everything the peer's $system holds is here, as in noPolicyThereEither
        try (WsClient anyone = a.connect("anyone")) {
          JsonNode answer = anyone.request(sub("stranded", 0));
          assertEquals("subscribed", answer.path("type").asText(), "still waiting for a seq of the peer's old life: " + answer);
        }
      }
    }
  }

  /** The fake peer offers its {@code $system} (sid s0) in a life this server has no cursor of: subscribed, then reset. */
  private static void offerSystem(WsClient peer, String epoch, long head) {
    peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s0\",\"db\":\"$system\",\"epoch\":\"" + epoch + "\",\"head\":" + head
        + ",\"createdAt\":" + (System.currentTimeMillis() - 1000) + "}");
    peer.sendRaw("{\"type\":\"reset\",\"sid\":\"s0\",\"epoch\":\"" + epoch + "\"}");
  }

  /** A sub answered subscribed: the feed.ack of the frame that ended the wait came after the wait ended. */
  private static void awaitSubscribed(ClusterNode a, String db) {
    try (WsClient anyone = a.connect("anyone-later")) {
      assertEquals("subscribed", anyone.request(sub(db, 0)).path("type").asText());
    }
  }

  private static String policyAttr(String id, String attr, String valueJson, String ts) {
    return "{\"col\":\"policies\",\"id\":\"" + id + "\",\"attr\":\"" + attr + "\",\"value\":" + valueJson + ",\"ts\":\"" + ts + "\",\"seq\":1}";
  }

  /** The deltas of a policy of team for staff only, stamped {@code ts}. */
  private static String staffOnly(String ts) {
    StringBuilder deltas = new StringBuilder(policyDelta("$deleted", "false", ts));
    for (String action : List.of("read", "create", "update", "destroy")) {
      deltas.append(',').append(policyDelta(action, "[\"role:staff\"]", ts));
    }
    return deltas.toString();
  }

  private static String policyDelta(String attr, String value, String ts) {
    return policyOf("team", attr, ts).replace("\"value\":null", "\"value\":" + value);
  }

  private static String policyOf(String db, String attr, String ts) {
    return "{\"col\":\"policies\",\"id\":\"" + db + "\",\"attr\":\"" + attr + "\",\"value\":null,\"ts\":\"" + ts + "\",\"seq\":1}";
  }

  /** The fake peer offers its $system (sid s0) and {@code db} (sid s1), made after its $system reached {@code systemHead}. */
  private static void bring(ClusterNode a, WsClient peer, String db, long systemHead) {
    long now = System.currentTimeMillis();
    peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s0\",\"db\":\"$system\",\"epoch\":\"e0\",\"head\":" + systemHead
        + ",\"createdAt\":" + (now - 1000) + "}");
    peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"" + db + "\",\"epoch\":\"e1\",\"head\":0,\"createdAt\":" + now
        + ",\"systemHead\":" + systemHead + "}");
    awaitDatabase(a, db);
  }

  private static void awaitDatabase(ClusterNode a, String db) {
    long until = System.currentTimeMillis() + WsClient.TIMEOUT.toMillis();
    while (a.digest(db) == null) {
      if (System.currentTimeMillis() > until) throw new AssertionError(db + " was not created");
      Thread.onSpinWait();
    }
  }

  /** What a new peer is offered at once when it asks for the feed (the source opens every database before it reads on). */
  private static List<JsonNode> offeredUpToAPong(WsClient other) {
    var feed = WsClient.obj("feed");
    feed.putObject("cursors");
    other.send(feed);
    other.send(WsClient.obj("ping"));
    other.next("pong");
    return other.receivedOfType("subscribed");
  }
}
