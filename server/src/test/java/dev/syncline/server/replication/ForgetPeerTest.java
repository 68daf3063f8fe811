package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A peer forgotten with peer.forget is gone for good")
class ForgetPeerTest {
  static final Duration WITHIN = Duration.ofSeconds(20);

  @Test
  @DisplayName("a linked peer cannot be forgotten; once stopped and forgotten it is refused both ways, also after a restart, and its writes stay out")
  void forgottenPeerIsRefused() throws InterruptedException {
    try (Cluster c = Cluster.ring(2, false, cfg -> {
      cfg.tombstoneRetentionMs = 300;
      cfg.purgeIntervalMs = 100;
    })) {
      c.awaitLinksLive(WITHIN);
      ClusterNode a = c.node(0);
      ClusterNode b = c.node(1);
      String bId = b.serverId();

      JsonNode whileLinked = a.admin(forget(bId));
      assertEquals("bad_request", whileLinked.path("code").asText(), whileLinked.toString());
      assertTrue(whileLinked.path("message").asText().contains("linked now"), whileLinked.toString());

      b.stop();
      Cluster.await(() -> "result".equals(a.admin(forget(bId)).path("type").asText()), WITHIN, () -> "forgotten once unlinked");
      assertEquals(1, a.stats().path("replication").path("clusterSize").asInt());

      // it comes back with its old data folder, so its old id, and writes
      c.start(1);
      try (WsClient onB = b.connect("w")) {
        assertEquals("ack", onB.request(push("app", delta("c", "d", "v", "written on b", now(0, "w")))).path("type").asText());
      }
      Cluster.await(() -> refusedBothWays(a, b, bId), WITHIN, () -> a.stats().path("peers") + " / " + b.stats().path("peers"));
      Thread.sleep(1000); // a link that came up anyway would have brought b's database by now
      assertTrue(a.registers("app").isEmpty(), "nothing of the forgotten server came in");
      assertEquals(1, a.stats().path("replication").path("clusterSize").asInt());

      // the forgetting is stored: a restarted server refuses it still
      a.stop();
      c.start(0);
      Cluster.await(() -> refusedBothWays(a, b, bId), WITHIN, () -> a.stats().path("peers") + " / " + b.stats().path("peers"));
      assertTrue(a.registers("app").isEmpty(), "nothing of the forgotten server came in after the restart");
      assertEquals(1, a.stats().path("replication").path("clusterSize").asInt(), "the peer it still dials counts for nothing");

      // and while it is down, too: the URL it still dials is known to be that server
      b.stop();
      a.stop();
      c.start(0);
      // unanswered, the URL may be a new server by now: it counts for quorums, but holds back no purge
      assertEquals(2, a.stats().path("replication").path("clusterSize").asInt(), "the unanswered URL counts as a server");
      try (WsClient w = a.connect("remover")) {
        w.request(push("app", delta("c", "gone", "v", 1, now(0, "remover"))));
        w.request(push("app", delta("c", "gone", "v", null, now(1, "remover"))));
      }
      Cluster.await(() -> a.admin(admin("db.stats", args().put("db", "app"))).path("data").path("purgedThrough").asLong() > 0,
          WITHIN, () -> "a purge that waits for no one: " + a.stats().path("peers"));
    }
  }

  private static ObjectNode forget(String serverId) {
    return admin("peer.forget", args().put("serverId", serverId));
  }

  /** a refuses b's dial and b's welcome to its own dial; b is told why. */
  private static boolean refusedBothWays(ClusterNode a, ClusterNode b, String bId) {
    boolean dialRefused = false;
    boolean dialInRefused = false;
    for (JsonNode p : a.stats().path("peers")) {
      if (!bId.equals(p.path("peer").asText()) || !"refused".equals(p.path("state").asText())) continue;
      if (!p.path("lastError").asText().contains("forgotten")) continue;
      if ("dial".equals(p.path("direction").asText())) dialRefused = true;
      else dialInRefused = true;
    }
    boolean told = false;
    for (JsonNode p : b.stats().path("peers")) {
      if ("dial".equals(p.path("direction").asText()) && p.path("lastError").asText().contains(bId + " was forgotten here")) {
        told = true;
      }
    }
    return dialRefused && dialInRefused && told;
  }
}
