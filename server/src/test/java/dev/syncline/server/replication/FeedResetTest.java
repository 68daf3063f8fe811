package dev.syncline.server.replication;

import static dev.syncline.server.replication.LinkTest.connectAsPeer;
import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.now;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.ClusterNode;
import dev.syncline.server.testing.WsClient;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A fake peer's feed starts over ({@code reset}) at the moments that used to go wrong. */
@DisplayName("A peer's feed that starts over under a new epoch")
class FeedResetTest {

  @Test
  @DisplayName("leaves the new epoch's cursor stored, not one of the old epoch that was waiting to be saved")
  void oldCursorNotStoredOverTheNew() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> { })) {
      c.startAll();
      ClusterNode a = c.node(0);
      try (WsClient peer = connectAsPeer(a, "srv-x", "n1")) {
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"app\",\"epoch\":\"e1\",\"head\":30,\"createdAt\":1}");
        // nothing this server should see up to 30: a cursor without data, saved within a second
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":30,\"deltas\":[]}");
        assertEquals(30, peer.next("feed.ack").path("seq").asLong());
        peer.sendRaw("{\"type\":\"reset\",\"sid\":\"s1\",\"epoch\":\"e2\"}");
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"app\",\"seq\":1,\"deltas\":[{\"col\":\"c\",\"id\":\"d\","
            + "\"attr\":\"v\",\"value\":1,\"ts\":\"" + now(0, "srv-x") + "\",\"seq\":1}]}");
        JsonNode ack = peer.next("feed.ack");
        assertEquals("e2", ack.path("epoch").asText(), ack.toString());
      }
      a.stop(); // stores what is waiting to be
      a.start();
      try (WsClient peer = connectAsPeer(a, "srv-x", "n2")) {
        JsonNode cursor = peer.next("feed").path("cursors").path("app");
        assertEquals("e2", cursor.path("epoch").asText(), "the feed resumes in the new epoch, not from 0: " + cursor);
        assertEquals(1, cursor.path("seq").asLong(), cursor.toString());
      }
    }
  }

  @Test
  @DisplayName("of a database destroyed here after that life began keeps the link; a reset to yet another life drops it, "
      + "to learn when that one began")
  void ignoredFeedKeepsTheLink() {
    try (Cluster c = Cluster.unlinked(1, false, cfg -> { })) {
      c.startAll();
      ClusterNode a = c.node(0);
      long before = System.currentTimeMillis() - 60_000;
      assertEquals("result", a.admin(admin("db.create", args().put("db", "gone"))).path("type").asText());
      assertEquals("result", a.admin(admin("db.destroy", args().put("db", "gone"))).path("type").asText());
      try (WsClient peer = connectAsPeer(a, "srv-x", "n3")) {
        // the peer's life of gone began before the destroy here, which has not reached it: ignored
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"gone\",\"epoch\":\"e2\",\"head\":5,\"createdAt\":" + before + "}");
        // what a source says when this server's stored cursor is of an older epoch
        peer.sendRaw("{\"type\":\"reset\",\"sid\":\"s1\",\"epoch\":\"e2\"}");
        peer.send(WsClient.obj("ping"));
        peer.next("pong"); // still linked
        assertEquals(null, a.digest("gone"), "still ignored: not created here");
        peer.sendRaw("{\"type\":\"reset\",\"sid\":\"s1\",\"epoch\":\"e3\"}");
        peer.awaitClose();
      }
    }
  }
}
