package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.Deltas;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Write quorums: an ack waits until W servers hold the write durably")
class QuorumTest {
  static final Duration WITHIN = Duration.ofSeconds(20);

  @Test
  @DisplayName("in a star, a push with w=2 on a spoke is acked only once the hub holds it; the server's writeQuorum applies when a push names none")
  void ackedWhenHeldByW() {
    try (Cluster star = Cluster.star(1, false, cfg -> cfg.writeQuorum = 2)) {
      star.awaitLinksLive(WITHIN);
      ClusterNode hub = star.node(0);
      ClusterNode spoke = star.node(1);
      try (WsClient w = spoke.connect("w")) {
        for (int i = 0; i < 5; i++) {
          var p = push("app", delta("c", "d" + i, "v", i, now(i, "w")));
          if (i % 2 == 0) p.put("w", 2); // the rest take writeQuorum
          JsonNode ack = w.request(p);
          assertEquals("applied", ack.path("results").get(0).asText(), ack.toString());
          // acked at W=2: the hub has it already, without waiting
          assertTrue(hub.registers("app").containsKey(Replica.key("c", "d" + i, "v")), "the hub holds d" + i + " when it is acked");
        }
      }
    }
  }

  @Test
  @DisplayName("with the link stalled, the ack says quorum_timeout with how many servers held it; the write is kept and replicates after; a resend is safe")
  void timeout() {
    try (Cluster star = Cluster.star(1, false, cfg -> cfg.quorumTimeoutMs = 700)) {
      star.awaitLinksLive(WITHIN);
      ClusterNode hub = star.node(0);
      ClusterNode spoke = star.node(1);
      star.proxy(1, 0).stall();
      var p = push("app", delta("c", "late", "v", 1, now(0, "w")), delta("c", "late", "$owner", 1, now(1, "w"))).put("w", 2);
      try (WsClient w = spoke.connect("w")) {
        JsonNode ack = w.request(p.deepCopy());
        JsonNode first = ack.path("results").get(0);
        assertEquals("quorum_timeout", first.path("error").asText(), ack.toString());
        assertEquals(1, first.path("servers").asInt(), "held by the spoke only");
        assertEquals("bad_request", ack.path("results").get(1).path("error").asText(), "other errors stay as they are");
        assertTrue(spoke.registers("app").containsKey(Replica.key("c", "late", "v")), "kept where it was pushed");
        star.proxy(1, 0).heal();
        Cluster.await(() -> hub.registers("app").containsKey(Replica.key("c", "late", "v")), WITHIN, () -> "the write to replicate");
        JsonNode again = w.request(p.deepCopy());
        assertEquals("duplicate", again.path("results").get(0).asText(), again.toString());
      }
    }
  }

  @Test
  @DisplayName("in a ring of four, a server hears from its two neighbours: w=3 is acked once both hold the write, w=4 is bad_request at once")
  void ringOfFourCountsNeighbours() {
    try (Cluster ring = Cluster.ring(4, false, cfg -> { })) {
      ring.awaitLinksLive(WITHIN);
      ClusterNode n0 = ring.node(0);
      try (WsClient w = n0.connect("w")) {
        JsonNode ack = w.request(push("app", delta("c", "q", "v", 1, now(0, "w"))).put("w", 3));
        assertEquals("applied", ack.path("results").get(0).asText(), ack.toString());
        for (int neighbour : new int[] {1, 3}) {
          assertTrue(ring.node(neighbour).registers("app").containsKey(Replica.key("c", "q", "v")),
              "n" + neighbour + " holds it when it is acked at w=3");
        }
        JsonNode four = w.request(push("app", delta("c", "q4", "v", 1, now(1, "w"))).put("w", 4));
        assertEquals("bad_request", four.path("code").asText(), four.toString());
      }
    }
  }

  @Test
  @DisplayName("a push whose every delta the policy refuses is answered at once, not held for servers to hold nothing")
  void refusedIsNotHeld() {
    // a quorum wait far longer than a request waits for its answer
    try (Cluster star = Cluster.star(1, false, cfg -> cfg.quorumTimeoutMs = 120_000)) {
      star.awaitLinksLive(WITHIN);
      ClusterNode spoke = star.node(1);
      // only a document's owner may change it: known on the writer, so the push gets that far
      var ownersOnly = Deltas.args().put("db", "owned");
      var policy = ownersOnly.putObject("policy");
      policy.putArray("read").add("$all");
      policy.putArray("create").add("$user");
      policy.putArray("update").add("$owner");
      assertEquals("result", spoke.admin(Deltas.admin("db.create", ownersOnly)).path("type").asText());
      for (String user : new String[] {"alice", "bob"}) {
        assertEquals("result", spoke.admin(Deltas.admin("user.create", Deltas.args().put("username", user)
            .put("password", "password-of-" + user))).path("type").asText());
      }
      try (WsClient alice = signedIn(spoke, "alice")) {
        assertEquals("applied", alice.request(push("owned", delta("c", "d", "v", 1, now(0, "alice")))).path("results").get(0).asText());
      }
      star.proxy(1, 0).stall();
      try (WsClient alice = signedIn(spoke, "alice")) { // a head the hub has not confirmed: a quorum wait would wait
        assertEquals("applied", alice.request(push("owned", delta("c", "e", "v", 1, now(2, "alice")))).path("results").get(0).asText());
      }
      try (WsClient bob = signedIn(spoke, "bob")) {
        JsonNode refused = bob.request(push("owned", delta("c", "d", "v", 2, now(1, "bob"))).put("w", 2));
        assertEquals("forbidden", refused.path("results").get(0).path("error").asText(), refused.toString());
      }
    }
  }

  private static WsClient signedIn(ClusterNode node, String user) {
    WsClient c = node.connect(user);
    JsonNode token = c.request(WsClient.obj("login").put("username", user).put("password", "password-of-" + user));
    assertEquals("token", token.path("type").asText(), token.toString());
    return c;
  }

  @Test
  @DisplayName("a w no cluster of this size could reach is bad_request at once, not a wait")
  void impossibleQuorum() {
    try (Cluster star = Cluster.star(1, false, cfg -> { })) {
      star.awaitLinksLive(WITHIN);
      try (WsClient w = star.node(1).connect("w")) {
        JsonNode answer = w.request(push("app", delta("c", "d", "v", 1, now(0, "w"))).put("w", 3));
        assertEquals("error", answer.path("type").asText(), answer.toString());
        assertEquals("bad_request", answer.path("code").asText());
        assertTrue(answer.path("message").asText().startsWith("w:"), answer.toString());
        assertTrue(star.node(1).registers("app").isEmpty(), "nothing was written");
      }
    }
  }

  @Test
  @DisplayName("a peer gone for good can be forgotten: it no longer counts toward the servers a quorum may reach")
  void forgetPeer() {
    try (Cluster star = Cluster.star(1, false, cfg -> { })) {
      star.awaitLinksLive(WITHIN);
      ClusterNode hub = star.node(0);
      String spokeId = star.node(1).serverId();
      assertEquals(2, hub.stats().path("replication").path("clusterSize").asInt());
      star.node(1).stop();
      JsonNode forgotten = hub.admin(dev.syncline.server.testing.Deltas.admin("peer.forget",
          dev.syncline.server.testing.Deltas.args().put("serverId", spokeId)));
      assertTrue(forgotten.path("data").path("forgotten").asBoolean(), forgotten.toString());
      assertEquals(1, hub.stats().path("replication").path("clusterSize").asInt());
      try (WsClient w = hub.connect("w")) {
        assertEquals("bad_request", w.request(push("app", delta("c", "d", "v", 1, now(0, "w"))).put("w", 2)).path("code").asText());
      }
    }
  }
}
