package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Subscriptions ended by a destroyed database")
class DestroyedSubscriptionsTest {

  private static void create(TestServer server, String db) {
    JsonNode r = server.admin(admin("db.create", args().put("db", db)));
    assertEquals("result", r.path("type").asText(), r.toString());
  }

  private static void destroy(TestServer server, String db) {
    JsonNode r = server.admin(admin("db.destroy", args().put("db", db)));
    assertEquals("result", r.path("type").asText(), r.toString());
  }

  /** The message about {@code sid} that ends it, or {@code synced}: whichever comes first. */
  private static JsonNode endOf(WsClient c, String sid) {
    return c.next(m -> sid.equals(m.path("sid").asText())
        && (m.path("type").asText().equals("error") || m.path("type").asText().equals("synced")));
  }

  @Test
  @DisplayName("a subscription ended by a destroy no longer counts against maxSubscriptions, and its sid is gone")
  void endedSubscriptionsAreReleased() {
    try (TestServer server = TestServer.start(c -> c.maxSubscriptions = 2); WsClient c = server.connect("subscriber")) {
      create(server, "one");
      create(server, "two");
      create(server, "three");
      String sid = c.request(sub("one", 0)).get("sid").asText();
      c.next("synced");
      c.request(sub("two", 0));
      c.next("synced");
      assertEquals("too_large", c.request(sub("three", 0)).path("code").asText(), "at the maximum");

      destroy(server, "one");
      JsonNode gone = endOf(c, sid);
      assertEquals("not_found", gone.path("code").asText(), gone.toString());

      JsonNode again = c.request(sub("three", 0));
      assertEquals("subscribed", again.path("type").asText(), "the destroyed database's subscription was released: " + again);
      assertEquals("not_found", c.request(WsClient.obj("unsub").put("sid", sid)).path("code").asText(),
          "the ended subscription is no longer the connection's");
      assertEquals(2, subscriptions(server), "the server counts the two open ones");
    }
  }

  @Test
  @DisplayName("a catch-up racing a destroy ends with not_found, never internal")
  void catchUpRacingDestroy() {
    try (TestServer server = TestServer.start(c -> {
      c.catchUpPageDeltas = 20; // many small pages: the destroy lands between or during reads
      c.durability = "async";
    }); WsClient writer = server.connect("writer"); WsClient reader = server.connect("reader")) {
      for (int round = 0; round < 12; round++) {
        String db = "big" + round;
        create(server, db);
        for (int p = 0; p < 4; p++) {
          ObjectNode batch = push(db);
          ArrayNode deltas = batch.withArray("deltas");
          for (int i = 0; i < 1000; i++) deltas.add(delta("c", "d" + p + "-" + i, "v", i, now(p, "writer")));
          assertEquals("ack", writer.request(batch).path("type").asText());
        }
        String sid = reader.request(sub(db, 0)).get("sid").asText();
        // waiting for the first page a little longer each round moves the destroy along the catch-up
        if (round > 0) reader.next(m -> sid.equals(m.path("sid").asText()) && m.path("type").asText().equals("changes"));
        sleepMs(round % 4);
        destroy(server, db);
        JsonNode end = endOf(reader, sid);
        if (end.path("type").asText().equals("synced")) end = endOf(reader, sid); // caught up before the destroy
        assertEquals("error", end.path("type").asText(), end.toString());
        assertEquals("not_found", end.path("code").asText(), "round " + round + ": " + end);
      }
      List<JsonNode> internal = reader.received().stream().filter(m -> "internal".equals(m.path("code").asText())).toList();
      assertEquals(List.of(), internal);
      assertEquals(0, subscriptions(server), "ended subscriptions are not counted");
    }
  }

  private static int subscriptions(TestServer server) {
    return server.admin(admin("server.stats", null)).path("data").path("subscriptions").asInt(-1);
  }

  private static void sleepMs(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
