package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
import dev.syncline.server.testing.Replica;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Once a tombstone is purged, the register is gone: a write older than the removal, arriving
 * late (an edit whose ack was lost, sent again after the retention), would otherwise be applied
 * here while every client that saw the removal keeps it.
 */
@DisplayName("After tombstones are purged")
class PurgedTombstoneTest {

  @Test
  @DisplayName("a client's write older than the purge cutoff, to a register the server does not hold, is superseded, "
      + "whether the database purged anything or not; newer ones apply")
  void oldWriteDoesNotBringBackAPurgedValue() {
    try (TestServer server = TestServer.start(c -> {
      c.tombstoneRetentionMs = 3_000; // writes within it are taken; the tombstone below outlives it in about 2 s
      c.purgeIntervalMs = 100;
    }); WsClient w = server.connect("phone")) {
      long now = System.currentTimeMillis();
      JsonNode written = w.request(push("app", delta("c", "d", "title", "first", ts(now - 2_000, 0, "phone"))));
      assertEquals("applied", written.path("results").get(0).asText(), written.toString());
      JsonNode removed = w.request(push("app", delta("c", "d", "title", null, ts(now - 1_000, 0, "phone"))));
      assertEquals("applied", removed.path("results").get(0).asText(), removed.toString());
      Cluster.await(() -> stats(server).path("tombstones").asLong() == 0, Duration.ofSeconds(20), () -> "the purge: " + stats(server));

      // made before the removal, sent after the purge
      JsonNode late = w.request(push("app", delta("c", "d", "title", "edited offline", ts(now - 1_500, 0, "phone"))));
      assertEquals("superseded", late.path("results").get(0).asText(), late.toString());
      assertFalse(titles(server).contains("edited offline"), "the removed value came back: " + titles(server));

      JsonNode fresh = w.request(push("app", delta("c", "d", "title", "again", ts(System.currentTimeMillis(), 0, "phone"))));
      assertEquals("applied", fresh.path("results").get(0).asText(), "a write after the cutoff is taken: " + fresh);

      // the same where nothing was purged: a server that took it would pass it on to one that purged
      assertEquals("result", server.admin(admin("db.create", args().put("db", "unpurged"))).path("type").asText());
      JsonNode old = w.request(push("unpurged", delta("c", "n", "title", "made offline", ts(now - 60_000, 0, "phone"))));
      assertEquals("superseded", old.path("results").get(0).asText(), old.toString());
    }
  }

  @Test
  @DisplayName("a client's write older than the purge cutoff to a document destroyed after it is superseded: "
      + "a peer may have purged the document whole, and would take the write as a new one")
  void oldWriteBehindADestroy() {
    try (TestServer server = TestServer.start(c -> {
      c.tombstoneRetentionMs = 1_000;
      c.purgeIntervalMs = 600_000; // nothing purged here: the document is held, destroyed
    }); WsClient w = server.connect("phone")) {
      long t0 = System.currentTimeMillis();
      assertEquals("applied", w.request(push("app", delta("c", "d", "title", "v", ts(t0, 0, "phone")))).path("results").get(0).asText());
      assertEquals("applied", w.request(push("app", delta("c", "d", "$deleted", true, ts(t0 + 10, 0, "phone")))).path("results").get(0).asText());
      Cluster.await(() -> System.currentTimeMillis() > t0 + 1_100, Duration.ofSeconds(5), () -> "the retention to pass");
      JsonNode late = w.request(push("app", delta("c", "d", "title", "edited offline", ts(t0 + 5, 0, "phone"))));
      assertEquals("superseded", late.path("results").get(0).asText(), late.toString());
    }
  }

  @Test
  @DisplayName("a removal stamped before the cutoff but committed now is not purged before a subscriber behind since before it gets it")
  void lateRemovalReachesASubscriberBehind() throws InterruptedException {
    try (TestServer server = TestServer.start(c -> {
      c.tombstoneRetentionMs = 4_000; // room for the subscriber to read on before the removal is 4 s old
      c.purgeIntervalMs = 100;
      c.catchUpPageBytes = 16 * 1024; // small frames: a client that stops reading holds few of them
    }); WsClient w = server.connect("phone");
        WsClient slow = WsClient.connect(server.port(), new io.vertx.core.http.WebSocketClientOptions().setReceiveBufferSize(16 * 1024))) {
      slow.hello("slow");
      long t0 = System.currentTimeMillis();
      assertEquals("applied", w.request(push("app", delta("c", "d", "title", "a", ts(t0, 0, "phone")))).path("results").get(0).asText());
      // enough after it that a subscriber that stops reading is left behind in the middle
      String filler = "x".repeat(4000);
      for (int i = 0; i < 40; i++) {
        com.fasterxml.jackson.databind.node.ObjectNode p = push("app");
        for (int j = 0; j < 100; j++) p.withArray("deltas").add(delta("fill", i + "-" + j, "v", filler, ts(System.currentTimeMillis(), 0, "phone")));
        assertEquals("ack", w.request(p).path("type").asText());
      }
      Cluster.await(() -> System.currentTimeMillis() > t0 + 4_100, Duration.ofSeconds(10), () -> "the title to be older than the retention");
      slow.pause(true);
      slow.send(sub("app", 0));
      Cluster.await(() -> server.admin(admin("server.stats", null)).path("data").path("fanout").path("lagging").asInt() == 1,
          Duration.ofSeconds(10), () -> "the subscriber to fall behind");
      // stamped a moment after the title, so before the cutoff: a register held, so it applies
      JsonNode removed = w.request(push("app", delta("c", "d", "title", null, ts(t0 + 1, 0, "phone"))));
      assertEquals("applied", removed.path("results").get(0).asText(), removed.toString());
      Thread.sleep(600); // six purge steps: a purge by the stamp alone has taken it by now
      assertEquals(1, stats(server).path("tombstones").asLong(), "purged before it was committed 4 s ago");
      slow.pause(false);
      slow.await(m -> "synced".equals(m.path("type").asText()));
      Replica replica = new Replica();
      for (JsonNode m : slow.received()) replica.apply(m);
      Replica.Reg title = replica.registers().get(Replica.key("c", "d", "title"));
      assertTrue(title != null && title.value().isNull(), "the subscriber keeps the removed title: " + title);
    }
  }

  @Test
  @DisplayName("a live subscriber holding a destroyed document's values gets its $deleted again, marked valuesPurged, when "
      + "the server purges them; a new subscriber gets only that")
  void purgedValuesAreToldToSubscribers() {
    try (TestServer server = TestServer.start(c -> {
      c.tombstoneRetentionMs = 1_000;
      c.purgeIntervalMs = 100;
    }); WsClient w = server.connect("phone"); WsClient live = server.connect("live")) {
      long t0 = System.currentTimeMillis();
      w.request(push("app", delta("c", "d", "title", "secret", ts(t0, 0, "phone"))));
      String sid = live.request(sub("app", 0)).path("sid").asText();
      live.next(m -> "synced".equals(m.path("type").asText()));
      JsonNode destroyed = w.request(push("app", delta("c", "d", "$deleted", true, ts(t0 + 1, 0, "phone"))));
      long destroySeq = destroyed.path("seq").asLong();
      JsonNode again = live.next(m -> "changes".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText())
          && m.path("seq").asLong() > destroySeq);
      JsonNode d = again.path("deltas").get(0);
      assertEquals("$deleted", d.path("attr").asText(), again.toString());
      assertEquals(ts(t0 + 1, 0, "phone"), d.path("ts").asText(), "the same $deleted: " + again);
      assertTrue(d.path("valuesPurged").asBoolean(), again.toString());
      try (WsClient fresh = server.connect("fresh")) {
        fresh.request(sub("app", 0));
        fresh.next(m -> "synced".equals(m.path("type").asText()));
        java.util.List<JsonNode> got = new java.util.ArrayList<>();
        for (JsonNode m : fresh.receivedOfType("changes")) m.path("deltas").forEach(got::add);
        assertEquals(1, got.size(), got.toString());
        assertTrue(got.get(0).path("valuesPurged").asBoolean(), got.toString());
      }
    }
  }

  @Test
  @DisplayName("a live subscriber that falls behind for longer than the retention, while a removal past its cursor is purged, "
      + "is reset when it reads on: it does not keep the removed value")
  void lagLongerThanTheRetention() {
    try (TestServer server = TestServer.start(c -> {
      c.tombstoneRetentionMs = 2_000;
      c.purgeIntervalMs = 100;
      c.catchUpPageBytes = 16 * 1024;
      c.subscriberBufferBytes = 16 * 1024;
    }); WsClient w = server.connect("phone");
        WsClient slow = WsClient.connect(server.port(), new io.vertx.core.http.WebSocketClientOptions().setReceiveBufferSize(16 * 1024))) {
      slow.hello("slow");
      java.util.concurrent.atomic.AtomicReference<Replica> copy = new java.util.concurrent.atomic.AtomicReference<>(new Replica());
      slow.listen(m -> {
        if ("reset".equals(m.path("type").asText())) copy.set(new Replica()); // the copy goes (§10)
        copy.get().apply(m);
      });
      w.request(push("app", delta("c", "d", "title", "a", ts(System.currentTimeMillis(), 0, "phone"))));
      String sid = slow.request(sub("app", 0)).path("sid").asText();
      slow.await(m -> "synced".equals(m.path("type").asText()));
      assertEquals("a", copy.get().registers().get(Replica.key("c", "d", "title")).value().asText());
      slow.pause(true);
      String filler = "x".repeat(4000);
      for (int i = 0; i < 200 && lagging(server) == 0; i++) {
        com.fasterxml.jackson.databind.node.ObjectNode p = push("app");
        for (int j = 0; j < 50; j++) p.withArray("deltas").add(delta("fill", i + "-" + j, "v", filler, ts(System.currentTimeMillis(), 0, "phone")));
        assertEquals("ack", w.request(p).path("type").asText());
      }
      assertEquals(1, lagging(server), "the subscriber lags");
      JsonNode removed = w.request(push("app", delta("c", "d", "title", null, ts(System.currentTimeMillis(), 0, "phone"))));
      assertEquals("applied", removed.path("results").get(0).asText(), removed.toString());
      Cluster.await(() -> stats(server).path("tombstones").asLong() == 0, Duration.ofSeconds(20), () -> "the purge: " + stats(server));
      assertEquals(1, lagging(server), "still lagging when the tombstone went");
      long marker = w.request(push("app", delta("c", "m", "v", 1, ts(System.currentTimeMillis(), 0, "phone")))).path("seq").asLong();
      slow.pause(false);
      slow.until(() -> copy.get().cursor() >= marker, "the subscriber to read on to seq " + marker);
      boolean reset = slow.received().stream().anyMatch(m -> "reset".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText()));
      Replica.Reg title = copy.get().registers().get(Replica.key("c", "d", "title"));
      assertTrue(title == null || title.value().isNull(), "the subscriber still holds the removed title " + title
          + " (reset sent: " + reset + ", removal seq " + removed.path("seq").asLong() + ")");
    }
  }

  @Test
  @DisplayName("a subscriber catching up from 0 that falls behind on a slow socket is not reset for the purge of a removal "
      + "committed before it subscribed: it never held the removed value")
  void catchUpFromZeroNotResetForAnOlderRemoval() {
    try (TestServer server = TestServer.start(c -> {
      c.tombstoneRetentionMs = 2_000;
      c.purgeIntervalMs = 100;
      c.catchUpPageBytes = 16 * 1024; // small frames: a client that stops reading holds few of them
    }); WsClient w = server.connect("phone");
        WsClient slow = WsClient.connect(server.port(), new io.vertx.core.http.WebSocketClientOptions().setReceiveBufferSize(16 * 1024))) {
      slow.hello("slow");
      String filler = "x".repeat(4000);
      for (int i = 0; i < 40; i++) {
        com.fasterxml.jackson.databind.node.ObjectNode p = push("app");
        for (int j = 0; j < 100; j++) p.withArray("deltas").add(delta("fill", i + "-" + j, "v", filler, ts(System.currentTimeMillis(), 0, "phone")));
        assertEquals("ack", w.request(p).path("type").asText());
      }
      // a value and its removal, both committed before the subscriber comes: it never gets the value
      long t0 = System.currentTimeMillis();
      assertEquals("applied", w.request(push("app", delta("c", "d", "title", "a", ts(t0, 0, "phone")))).path("results").get(0).asText());
      JsonNode removed = w.request(push("app", delta("c", "d", "title", null, ts(t0 + 1, 0, "phone"))));
      assertEquals("applied", removed.path("results").get(0).asText(), removed.toString());
      slow.pause(true);
      slow.send(sub("app", 0));
      Cluster.await(() -> lagging(server) == 1, Duration.ofSeconds(10), () -> "the subscriber to fall behind in its catch-up");
      Cluster.await(() -> stats(server).path("tombstones").asLong() == 0, Duration.ofSeconds(20), () -> "the purge: " + stats(server));
      assertEquals(1, lagging(server), "still behind when the tombstone went");
      slow.pause(false);
      slow.until(() -> !slow.receivedOfType("synced").isEmpty(), "synced");
      assertEquals(java.util.List.of(), slow.receivedOfType("reset"),
          "a catch-up from 0 was reset (and starts its download over) for a removal older than itself; removal seq "
              + removed.path("seq").asLong());
    }
  }

  private static int lagging(TestServer server) {
    return server.admin(admin("server.stats", null)).path("data").path("fanout").path("lagging").asInt();
  }

  /** Every value of c/d/title a new subscriber gets. */
  private static java.util.List<String> titles(TestServer server) {
    java.util.List<String> out = new java.util.ArrayList<>();
    try (WsClient r = server.connect("reader")) {
      String sid = r.request(dev.syncline.server.testing.Deltas.sub("app", 0)).path("sid").asText();
      r.next(m -> "synced".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText()));
      for (JsonNode m : r.receivedOfType("changes")) {
        for (JsonNode d : m.path("deltas")) if ("title".equals(d.path("attr").asText())) out.add(d.path("value").asText());
      }
    }
    return out;
  }

  private static JsonNode stats(TestServer server) {
    return server.admin(admin("db.stats", args().put("db", "app"))).path("data");
  }
}
