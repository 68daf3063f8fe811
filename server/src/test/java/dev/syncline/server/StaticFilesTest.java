package dev.syncline.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.syncline.server.testing.TestServer;
import dev.syncline.server.testing.WsClient;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Static files: the bundled todo example, or a folder of one's own")
class StaticFilesTest {
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  @DisplayName("by default the todo example and the SDK it imports are served at /, and its database exists")
  void bundledExample() throws Exception {
    try (TestServer server = TestServer.start(c -> c.todoExample = true)) {
      HttpResponse<String> index = get(server.port(), "/");
      assertEquals(200, index.statusCode());
      assertTrue(index.body().contains("class=\"todoapp\""), "the TodoMVC markup");
      assertEquals(200, get(server.port(), "/app.js").statusCode());
      HttpResponse<String> sdk = get(server.port(), "/sdk/index.js");
      assertEquals(200, sdk.statusCode());
      assertTrue(sdk.body().contains("createClient"));
      try (WsClient c = server.connect("t")) {
        assertEquals("subscribed", c.request(dev.syncline.server.testing.Deltas.sub("todo", 0)).get("type").asText());
      }
    }
  }

  @Test
  @DisplayName("staticDir serves that folder instead; with the example off nothing else is served")
  void ownFolder() throws Exception {
    Path dir = Files.createTempDirectory("syncline-static");
    Files.writeString(dir.resolve("index.html"), "<h1>mine</h1>");
    try (TestServer server = TestServer.start(c -> c.staticDir = dir.toString())) {
      assertTrue(get(server.port(), "/").body().contains("mine"));
      assertTrue(get(server.port(), "/admin/").body().contains("<title>Syncline admin</title>"), "the admin page is not hidden");
      assertEquals(404, get(server.port(), "/sdk/index.js").statusCode());
    }
    try (TestServer server = TestServer.start()) {
      assertEquals(404, get(server.port(), "/").statusCode());
    }
  }
}
