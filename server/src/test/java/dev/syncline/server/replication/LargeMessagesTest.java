package dev.syncline.server.replication;

import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("A link carries messages larger than the accepting server lets its clients send")
class LargeMessagesTest {
  static final Duration WITHIN = Duration.ofSeconds(20);
  static final int SMALL_MESSAGES = 16 * 1024;

  @Test
  @DisplayName("a commit and a catch-up from a server with 1 MiB messages reach one with 16 KiB messages, whose clients "
      + "are still held to 16 KiB")
  void largerThanTheAcceptorsClientLimit() {
    try (Cluster c = Cluster.unlinked(2, false, cfg -> { })) {
      c.link(0, 1); // 0 dials 1: 1 accepts, with the small limit
      c.node(1).tweak(cfg -> {
        cfg.maxMessageBytes = SMALL_MESSAGES;
        cfg.catchUpPageBytes = SMALL_MESSAGES / 2;
      });
      c.startAll();
      ClusterNode big = c.node(0);
      ClusterNode small = c.node(1);
      c.awaitLinksLive(WITHIN);
      try (WsClient writer = big.connect("writer")) {
        // live: one commit of ~120 KB, one frame on the dialer's side
        assertEquals("ack", writer.request(largePush("live", 0)).path("type").asText());
        c.awaitSameDigest("app", WITHIN);
        // catch-up: written while the link is cut, read from the store in pages of 512 KiB
        c.proxy(0, 1).cut();
        for (int i = 0; i < 8; i++) assertEquals("ack", writer.request(largePush("offline" + i, i + 1)).path("type").asText());
        c.proxy(0, 1).heal();
        c.awaitSameDigest("app", WITHIN);
      }
      assertEquals(big.registers("app"), small.registers("app"));
      assertEquals(30 * 9, small.registers("app").size());
      // a client of the small server still may not send more than its limit
      try (WsClient client = small.connect("client")) {
        client.sendRaw("{\"type\":\"ping\",\"pad\":\"" + "x".repeat(SMALL_MESSAGES) + "\"}");
        assertEquals(1009, client.awaitClose());
      }
    }
  }

  /** 30 deltas of a 4 KB value each, in one document. */
  private static ObjectNode largePush(String id, int tick) {
    ObjectNode p = push("app");
    for (int i = 0; i < 30; i++) p.withArray("deltas").add(delta("docs", id, "a" + i, "v".repeat(4000), now(tick, "writer")));
    return p;
  }
}
