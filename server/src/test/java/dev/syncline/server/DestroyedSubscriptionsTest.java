package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.sub;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
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

  private static int subscriptions(TestServer server) {
    return server.admin(admin("server.stats", null)).path("data").path("subscriptions").asInt(-1);
  }
}
