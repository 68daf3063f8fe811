package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.List;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Each message of PROTOCOL.md, happy path, against a real server")
class SyncProtocolTest {
  static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() {
    server.close();
  }

  private static String freshDb(WsClient c, String name) {
    JsonNode r = server.admin(admin("db.create", args().put("db", name)));
    assertEquals("result", r.get("type").asText(), r.toString());
    return name;
  }

  @Test
  @DisplayName("hello is answered with welcome carrying protocol, server id, clock and limits")
  void helloWelcome() {
    try (WsClient c = WsClient.connect(server.port())) {
      long before = System.currentTimeMillis();
      JsonNode w = c.hello("client-1");
      assertEquals("welcome", w.get("type").asText());
      assertEquals(1, w.get("protocol").asInt());
      assertEquals(server.server().serverId(), w.get("serverId").asText());
      assertTrue(w.get("time").asLong() >= before - 1000 && w.get("time").asLong() <= System.currentTimeMillis() + 1000);
      JsonNode limits = w.get("limits");
      assertEquals(1 << 20, limits.get("maxMessageBytes").asInt());
      assertEquals(1000, limits.get("maxDeltasPerPush").asInt());
      assertEquals(60000, limits.get("maxClockSkewMs").asInt());
      assertTrue(w.get("user") == null || w.get("user").isNull());
    }
  }

  @Test
  @DisplayName("push is acked with the new head and one result per delta: applied, superseded, duplicate")
  void pushAck() {
    try (WsClient c = server.connect("w1")) {
      String db = freshDb(c, "push-ack");
      String t1 = now(0, "w1");
      JsonNode ack = c.request(push(db, delta("todos", "a", "title", "Buy milk", t1)));
      assertEquals("ack", ack.get("type").asText(), ack.toString());
      assertEquals(db, ack.get("db").asText());
      assertEquals(1, ack.get("seq").asLong());
      assertEquals("applied", ack.get("results").get(0).asText());

      JsonNode ack2 = c.request(push(db,
          delta("todos", "a", "title", "Old", ts(1_000, 0, "w1")),
          delta("todos", "a", "title", "Buy milk", t1),
          delta("todos", "a", "done", true, t1)));
      assertEquals(List.of("superseded", "duplicate", "applied"), texts(ack2.get("results")));
      assertEquals(2, ack2.get("seq").asLong(), "only the applied delta takes a seq");
    }
  }

  @Test
  @DisplayName("sub gets subscribed, the stored changes, synced, then live changes as they commit")
  void subscribeCatchUpAndLive() {
    try (WsClient writer = server.connect("w2"); WsClient reader = server.connect("r2")) {
      String db = freshDb(writer, "sub-live");
      writer.request(push(db, delta("todos", "a", "title", "one", now(0, "w2")), delta("notes", "n", "text", "x", now(1, "w2"))));

      JsonNode subscribed = reader.request(sub(db, 0));
      assertEquals("subscribed", subscribed.get("type").asText());
      assertEquals(2, subscribed.get("head").asLong());
      String sid = subscribed.get("sid").asText();
      JsonNode changes = reader.next("changes");
      assertEquals(sid, changes.get("sid").asText());
      assertEquals(2, changes.get("deltas").size());
      assertEquals(2, changes.get("seq").asLong());
      JsonNode synced = reader.next("synced");
      assertEquals(sid, synced.get("sid").asText());
      assertEquals(2, synced.get("seq").asLong());

      writer.request(push(db, delta("todos", "a", "done", true, now(2, "w2"))));
      JsonNode live = reader.next("changes");
      assertEquals(3, live.get("seq").asLong());
      JsonNode d = live.get("deltas").get(0);
      assertEquals("done", d.get("attr").asText());
      assertTrue(d.get("value").asBoolean());
      assertEquals(3, d.get("seq").asLong());
      assertFalse(live.has("rid"), "live changes are unsolicited");
    }
  }

  @Test
  @DisplayName("sub with cols receives only those collections, in catch-up and live")
  void subscribeToCollections() {
    try (WsClient writer = server.connect("w3"); WsClient reader = server.connect("r3")) {
      String db = freshDb(writer, "sub-cols");
      writer.request(push(db, delta("todos", "a", "t", 1, now(0, "w3")), delta("notes", "n", "t", 2, now(1, "w3"))));
      var s = sub(db, 0);
      s.putArray("cols").add("notes");
      reader.request(s);
      JsonNode first = reader.next("changes");
      assertEquals(List.of("notes"), cols(first));
      assertEquals(2, reader.next("synced").get("seq").asLong());
      writer.request(push(db, delta("todos", "b", "t", 3, now(2, "w3"))));
      writer.request(push(db, delta("notes", "m", "t", 4, now(3, "w3"))));
      JsonNode live = reader.next("changes");
      assertEquals(List.of("notes"), cols(live));
      assertEquals(4, live.get("seq").asLong());
    }
  }

  @Test
  @DisplayName("sub with since resumes after that seq; a since above the head gets reset and everything")
  void resumeAndReset() {
    try (WsClient writer = server.connect("w4"); WsClient reader = server.connect("r4")) {
      String db = freshDb(writer, "resume");
      for (int i = 0; i < 5; i++) writer.request(push(db, delta("c", "d" + i, "v", i, now(i, "w4"))));
      JsonNode subscribed = reader.request(sub(db, 3));
      JsonNode changes = reader.next("changes");
      assertEquals(List.of(4L, 5L), seqs(changes));
      reader.next("synced");

      JsonNode again = reader.request(sub(db, 99));
      String sid = again.get("sid").asText();
      JsonNode reset = reader.next(m -> m.path("type").asText().equals("reset"));
      assertEquals(sid, reset.get("sid").asText());
      JsonNode all = reader.next(m -> m.path("type").asText().equals("changes") && m.get("sid").asText().equals(sid));
      assertEquals(List.of(1L, 2L, 3L, 4L, 5L), seqs(all));
      assertTrue(subscribed.get("sid").asText().compareTo(sid) != 0);
    }
  }

  @Test
  @DisplayName("a database destroyed and re-created gets a new epoch; a sub with the old epoch is reset, from a cursor or from 0")
  void recreatedDatabaseResets() {
    try (WsClient c = server.connect("w6")) {
      String db = freshDb(c, "reborn");
      c.request(push(db, delta("c", "old", "v", 1, now(0, "w6"))));
      JsonNode first = c.request(sub(db, 0));
      String oldEpoch = first.get("epoch").asText();
      c.next("synced");
      server.admin(admin("db.destroy", args().put("db", db)));
      freshDb(c, db);
      for (int i = 0; i < 3; i++) c.request(push(db, delta("c", "new" + i, "v", i, now(i + 1, "w6"))));

      var s = sub(db, 1).put("epoch", oldEpoch);
      JsonNode again = c.request(s);
      String sid = again.get("sid").asText();
      assertTrue(!oldEpoch.equals(again.get("epoch").asText()), "a new life, a new epoch");
      c.next(m -> m.path("type").asText().equals("reset") && m.get("sid").asText().equals(sid));
      JsonNode all = c.next(m -> m.path("type").asText().equals("changes") && m.get("sid").asText().equals(sid));
      assertEquals(List.of(1L, 2L, 3L), seqs(all), "everything of the new life, from 0");

      // a copy at cursor 0 of the old life (only the client's own acknowledged writes) is reset too
      String sid0 = c.request(sub(db, 0).put("epoch", oldEpoch)).get("sid").asText();
      c.next(m -> m.path("type").asText().equals("reset") && m.get("sid").asText().equals(sid0));

      var same = sub(db, 3).put("epoch", again.get("epoch").asText());
      String sid2 = c.request(same).get("sid").asText();
      JsonNode synced = c.next(m -> m.path("type").asText().equals("synced") && m.get("sid").asText().equals(sid2));
      assertEquals(3, synced.get("seq").asLong());
      assertTrue(c.received().stream().noneMatch(m -> m.path("type").asText().equals("reset")
          && m.get("sid").asText().equals(sid2)), "the current epoch does not reset");
    }
  }

  @Test
  @DisplayName("the server's clock takes in the latest ts of a push, wherever it is in the push: a destroy after it covers it")
  void clockFollowsPushedTimestamps() {
    // its own server: the clock it moves ahead would stamp the other tests' destroys
    try (TestServer own = TestServer.start(); WsClient c = own.connect("w7")) {
      String db = "clock-follows";
      assertEquals("result", own.admin(admin("db.create", args().put("db", db))).get("type").asText());
      long ms = System.currentTimeMillis();
      // ahead of the server's clock, within the allowed skew; the latest is not the last
      String latest = ts(ms + 30_000, 0, "w7");
      JsonNode ack = c.request(push(db, delta("c", "a", "v", 1, ts(ms + 20_000, 0, "w7")),
          delta("c", "b", "v", 1, latest), delta("c", "c", "v", 1, ts(ms + 25_000, 0, "w7"))));
      assertEquals(List.of("applied", "applied", "applied"), texts(ack.get("results")), ack.toString());

      // the destroy is stamped by the server's clock, so it comes after every write it has seen
      own.admin(admin("db.destroy", args().put("db", db)));
      own.admin(admin("db.create", args().put("db", db)));
      JsonNode again = c.request(push(db, delta("c", "b", "v", 2, latest)));
      assertEquals(List.of("superseded"), texts(again.get("results")), again.toString());
    }
  }

  @Test
  @DisplayName("a push the policy refuses does not move the server's clock: a destroy after it does not cover a later honest write")
  void refusedPushLeavesTheClock() {
    try (TestServer own = TestServer.start(); WsClient anonymous = own.connect("anon7"); WsClient admin = own.connectAs("adm7", "admin",
        TestServer.ADMIN_PASSWORD)) {
      String db = "guarded";
      ObjectNode writers = Json.MAPPER.createObjectNode();
      writers.putArray("read").add("$all");
      for (String action : List.of("create", "update", "destroy")) writers.putArray(action).add("role:admin");
      assertEquals("result", own.admin(admin("db.create", args().put("db", db).set("policy", writers))).get("type").asText());
      long ms = System.currentTimeMillis();
      JsonNode refused = anonymous.request(push(db, delta("c", "a", "v", 1, ts(ms + 30_000, 0, "anon7"))));
      assertEquals("forbidden", refused.path("results").path(0).path("error").asText(), refused.toString());

      own.admin(admin("db.destroy", args().put("db", db)));
      own.admin(admin("db.create", args().put("db", db).set("policy", writers)));
      JsonNode honest = admin.request(push(db, delta("c", "b", "v", 2, ts(ms + 20_000, 0, "adm7"))));
      assertEquals(List.of("applied"), texts(honest.get("results")), "stamped after the destroy: " + honest);
    }
  }

  @Test
  @DisplayName("unsub is answered ok and stops live changes; an unknown sid is not_found")
  void unsubscribe() {
    try (WsClient writer = server.connect("w5"); WsClient reader = server.connect("r5")) {
      String db = freshDb(writer, "unsub");
      String sid = reader.request(sub(db, 0)).get("sid").asText();
      reader.next("synced");
      JsonNode ok = reader.request(WsClient.obj("unsub").put("sid", sid));
      assertEquals("ok", ok.get("type").asText());
      writer.request(push(db, delta("c", "x", "v", 1, now(0, "w5"))));
      // a ping after the push: once its pong is here, any live frame would have been too
      reader.request(WsClient.obj("ping"));
      assertTrue(reader.receivedOfType("changes").isEmpty());
      JsonNode err = reader.request(WsClient.obj("unsub").put("sid", sid));
      assertEquals("not_found", err.get("code").asText());
    }
  }

  @Test
  @DisplayName("ping is answered with pong carrying the rid")
  void pingPong() {
    try (WsClient c = server.connect("p1")) {
      var ping = WsClient.obj("ping").put("rid", "abc");
      c.send(ping);
      JsonNode pong = c.await(m -> m.path("type").asText().equals("pong"));
      assertEquals("abc", pong.get("rid").asText());
    }
  }

  @Test
  @DisplayName("admin db.create, db.list, db.stats, server.stats and db.destroy")
  void adminOps() {
    try (WsClient c = server.connect("admin-1"); WsClient watcher = server.connect("watch-1")) {
      JsonNode created = server.admin(admin("db.create", args().put("db", "adm")));
      assertTrue(created.get("data").get("created").asBoolean());
      assertFalse(server.admin(admin("db.create", args().put("db", "adm"))).get("data").get("created").asBoolean());
      c.request(push("adm", delta("c", "x", "a", 1, now(0, "admin-1")), delta("c", "x", "b", null, now(1, "admin-1"))));

      JsonNode list = server.admin(admin("db.list", null)).get("data").get("databases");
      assertTrue(StreamSupport.stream(list.spliterator(), false).anyMatch(d -> d.get("db").asText().equals("adm")));
      JsonNode stats = server.admin(admin("db.stats", args().put("db", "adm"))).get("data");
      assertEquals(2, stats.get("head").asLong());
      assertEquals(1, stats.get("documents").asLong());
      assertEquals(2, stats.get("attributes").asLong());
      assertEquals(1, stats.get("tombstones").asLong());
      JsonNode serverStats = server.admin(admin("server.stats", null)).get("data");
      assertTrue(serverStats.get("connections").asInt() >= 2);
      assertTrue(serverStats.get("writes").get("deltas").asLong() >= 2);

      String sid = watcher.request(sub("adm", 0)).get("sid").asText();
      watcher.next("synced");
      JsonNode destroyed = server.admin(admin("db.destroy", args().put("db", "adm")));
      assertTrue(destroyed.get("data").get("destroyed").asBoolean());
      JsonNode gone = watcher.next("error");
      assertEquals("not_found", gone.get("code").asText());
      assertEquals(sid, gone.get("sid").asText());
      assertEquals("not_found", server.admin(admin("db.stats", args().put("db", "adm"))).get("code").asText());
      assertEquals("not_found", c.request(push("adm", delta("c", "x", "a", 2, now(2, "admin-1")))).get("code").asText());
    }
  }

  @Test
  @DisplayName("a connection that sends nothing for readIdleTimeoutSeconds is closed; one that pings stays")
  void idleConnectionsAreClosed() {
    try (TestServer idle = TestServer.start(c -> c.readIdleTimeoutSeconds = 1);
        WsClient silent = idle.connect("silent");
        WsClient pinging = idle.connect("pinging")) {
      long deadline = System.nanoTime() + 3_000_000_000L;
      while (!silent.isClosed() && System.nanoTime() < deadline) {
        pinging.request(WsClient.obj("ping"));
        sleep(100);
      }
      assertTrue(silent.isClosed(), "the silent connection was closed");
      assertFalse(pinging.isClosed(), "the pinging one was not");
    }
  }

  @Test
  @DisplayName("GET /health answers ok")
  void health() throws Exception {
    var client = java.net.http.HttpClient.newHttpClient();
    var response = client.send(java.net.http.HttpRequest.newBuilder(
        java.net.URI.create("http://127.0.0.1:" + server.port() + "/health")).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    assertEquals(200, response.statusCode());
    assertTrue(response.body().contains("\"status\":\"ok\""), response.body());
  }

  static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static List<String> texts(JsonNode arr) {
    return StreamSupport.stream(arr.spliterator(), false).map(JsonNode::asText).toList();
  }

  static List<Long> seqs(JsonNode changes) {
    return StreamSupport.stream(changes.get("deltas").spliterator(), false).map(d -> d.get("seq").asLong()).toList();
  }

  static List<String> cols(JsonNode changes) {
    return StreamSupport.stream(changes.get("deltas").spliterator(), false).map(d -> d.get("col").asText()).distinct().toList();
  }
}
