package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.push;
import static dev.syncline.server.testing.Deltas.ts;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.Cluster;
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
