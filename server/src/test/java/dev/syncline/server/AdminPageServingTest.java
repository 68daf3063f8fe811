package dev.syncline.server;

import static dev.syncline.server.testing.Deltas.admin;
import static dev.syncline.server.testing.Deltas.args;
import static dev.syncline.server.testing.Deltas.delta;
import static dev.syncline.server.testing.Deltas.now;
import static dev.syncline.server.testing.Deltas.push;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How the admin page is served and what its status panel reads; the page itself is tested in Chromium (src/test/admin-page). */
@DisplayName("Admin page: served from the jar at /admin/, and server.stats has what its status panel shows")
class AdminPageServingTest {
  @Test
  @DisplayName("/admin redirects to /admin/, which serves the page, its modules and the SDK, never framed, even with the example off")
  void served() throws Exception {
    try (TestServer server = TestServer.start()) { // no todo example: / serves nothing
      HttpResponse<String> bare = server.get("/admin");
      assertEquals(302, bare.statusCode());
      assertEquals("/admin/", bare.headers().firstValue("location").orElseThrow());

      HttpResponse<String> page = server.get("/admin/");
      assertEquals(200, page.statusCode());
      assertTrue(page.body().contains("<title>Syncline admin</title>"), page.body());
      assertTrue(page.headers().firstValue("content-security-policy").orElseThrow().contains("frame-ancestors 'none'"));
      assertEquals("no-cache", page.headers().firstValue("cache-control").orElseThrow());

      HttpResponse<String> app = server.get("/admin/app.js");
      assertEquals(200, app.statusCode());
      assertTrue(app.headers().firstValue("content-type").orElseThrow().contains("javascript"));
      HttpResponse<String> sdk = server.get("/admin/sdk/index.js");
      assertEquals(200, sdk.statusCode());
      assertTrue(sdk.body().contains("decodeServer"));
      assertEquals(404, server.get("/sdk/index.js").statusCode());
      assertEquals(404, server.get("/admin/nope.js").statusCode());
    }
  }

  @Test
  @DisplayName("server.stats tells the version, the data folder, and live rates of writes, group commits and bytes")
  void stats() {
    try (TestServer server = TestServer.start(); WsClient writer = server.connect("stats-writer")) {
      JsonNode stats = server.admin(admin("server.stats", args())).path("data");
      assertFalse(stats.path("version").asText().isEmpty(), stats.toString());
      assertEquals(server.dataDir().toAbsolutePath().normalize().toString(), stats.path("dataPath").asText());
      for (String rate : new String[] {"deltasPerSecond", "pushesPerSecond", "groupsPerSecond", "bytesInPerSecond",
          "bytesOutPerSecond"}) {
        assertTrue(stats.path("rates").path(rate).isNumber(), rate + " in " + stats);
      }

      for (int i = 0; i < 20; i++) writer.request(push("app", delta("c", "d" + i, "v", i, now(i, "stats-writer"))));
      // sampled once a second: within a few seconds the writes show, then the rates fall back to 0
      JsonNode busy = within(server, s -> s.path("rates").path("deltasPerSecond").asDouble() > 0);
      assertTrue(busy.path("rates").path("pushesPerSecond").asDouble() > 0, busy.toString());
      assertTrue(busy.path("rates").path("groupsPerSecond").asDouble() > 0, busy.toString());
      within(server, s -> s.path("rates").path("deltasPerSecond").asDouble() == 0);
    }
  }

  /** server.stats once it satisfies {@code condition}, asked every 100 ms for up to 10 s. */
  private static JsonNode within(TestServer server, java.util.function.Predicate<JsonNode> condition) {
    long deadline = System.nanoTime() + 10_000_000_000L;
    JsonNode stats;
    do {
      stats = server.admin(admin("server.stats", args())).path("data");
      if (condition.test(stats)) return stats;
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    } while (System.nanoTime() < deadline);
    throw new AssertionError("server.stats never matched; last: " + stats);
  }
}
