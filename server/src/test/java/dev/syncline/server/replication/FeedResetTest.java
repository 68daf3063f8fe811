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
    try (Cluster c = Cluster.unlinked(1, false, LinkTest::quietPeerPings)) {
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
    try (Cluster c = Cluster.unlinked(1, false, LinkTest::quietPeerPings)) {
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

  @Test
  @DisplayName("a database destroyed here that a peer brings back (or writes after the destroy kept) is for admins only "
      + "until a policy is set for it (db.create does), not open under the policy for new databases; the same after a restart")
  void destroyedNameIsForAdminsOnly() {
    try (Cluster c = Cluster.unlinked(1, false, LinkTest::quietPeerPings)) {
      c.startAll();
      ClusterNode a = c.node(0);
      assertEquals("result", a.admin(admin("db.create", args().put("db", "notes"))).path("type").asText());
      assertEquals("result", a.admin(admin("db.destroy", args().put("db", "notes"))).path("type").asText());
      try (WsClient peer = connectAsPeer(a, "srv-x", "n4")) {
        // a life of notes the peer began after the destroy: this server takes it
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"notes\",\"epoch\":\"e5\",\"head\":1,\"createdAt\":"
            + System.currentTimeMillis() + "}");
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"notes\",\"seq\":1,\"deltas\":[{\"col\":\"c\",\"id\":\"d\","
            + "\"attr\":\"v\",\"value\":\"secret\",\"ts\":\"" + now(0, "srv-x") + "\",\"seq\":1}]}");
        assertEquals(1, peer.next("feed.ack").path("seq").asLong());
      }
      for (int round = 0; round < 2; round++) {
        try (WsClient anyone = a.connect("anyone")) {
          JsonNode answer = anyone.request(dev.syncline.server.testing.Deltas.sub("notes", 0));
          assertEquals("forbidden", answer.path("code").asText(), "round " + round + ": " + answer);
        }
        assertEquals("subscribed", a.admin(dev.syncline.server.testing.Deltas.sub("notes", 0)).path("type").asText(), "admins still may");
        a.stop();
        a.start();
      }
      // db.create of the name (it exists: created false) stores the policy for new databases again
      assertEquals(false, a.admin(admin("db.create", args().put("db", "notes"))).path("data").path("created").asBoolean(true));
      try (WsClient anyone = a.connect("anyone")) {
        assertEquals("subscribed", anyone.request(dev.syncline.server.testing.Deltas.sub("notes", 0)).path("type").asText(),
            "db.create stored a policy for it");
      }
    }
  }

  @Test
  @DisplayName("a frame of a database destroyed here while it was on its way drops the link, so the next one learns "
      + "whether the peer's life is older (ignored) or newer (taken), instead of ignoring it for as long as the link lasts")
  void frameOfADatabaseDestroyedMeanwhileRelinks() {
    // pings far apart: the link is dropped for the frame, not because this fake peer does not ping
    try (Cluster c = Cluster.unlinked(1, false, cfg -> cfg.peerPingIntervalMs = 60_000)) {
      c.startAll();
      ClusterNode a = c.node(0);
      assertEquals("result", a.admin(admin("db.create", args().put("db", "brief"))).path("type").asText());
      try (WsClient peer = connectAsPeer(a, "srv-x", "n5")) {
        peer.sendRaw("{\"type\":\"subscribed\",\"sid\":\"s1\",\"db\":\"brief\",\"epoch\":\"e1\",\"head\":1,\"createdAt\":"
            + System.currentTimeMillis() + "}");
        peer.send(WsClient.obj("ping"));
        peer.next("pong");
        assertEquals("result", a.admin(admin("db.destroy", args().put("db", "brief"))).path("type").asText());
        peer.sendRaw("{\"type\":\"changes\",\"sid\":\"s1\",\"db\":\"brief\",\"seq\":1,\"deltas\":[{\"col\":\"c\",\"id\":\"d\","
            + "\"attr\":\"v\",\"value\":1,\"ts\":\"" + now(0, "srv-x") + "\",\"seq\":1}]}");
        peer.awaitClose();
      }
    }
  }
}
