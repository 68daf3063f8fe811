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
  @DisplayName("browsers revalidate the bundled page and SDK on each load, so a server upgrade reaches them at once; unchanged files answer 304")
  void bundledFilesRevalidated() throws Exception {
    try (TestServer server = TestServer.start(c -> c.todoExample = true)) {
      for (String path : new String[] {"/", "/app.js", "/sdk/index.js"}) {
        HttpResponse<String> first = get(server.port(), path);
        assertEquals(200, first.statusCode(), path);
        String cacheControl = first.headers().firstValue("cache-control").orElse("");
        assertEquals("no-cache", cacheControl, path + ": kept only if the server says it is unchanged");
        String lastModified = first.headers().firstValue("last-modified").orElseThrow();
        HttpResponse<String> again = HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .header("if-modified-since", lastModified).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(304, again.statusCode(), path + ": unchanged, not sent again");
      }
    }
    Path dir = Files.createTempDirectory("syncline-static");
    try (TestServer server = TestServer.start(c -> c.staticDir = dir.toString())) {
      HttpResponse<String> sdk = get(server.port(), "/sdk/index.js");
      assertEquals("no-cache", sdk.headers().firstValue("cache-control").orElse(""), "the bundled SDK beside a folder of one's own");
    }
  }

  @Test
  @DisplayName("staticDir serves that folder instead, and the bundled SDK at /sdk/; with the example off nothing is served")
  void ownFolder() throws Exception {
    Path dir = Files.createTempDirectory("syncline-static");
    Files.writeString(dir.resolve("index.html"), "<h1>mine</h1>");
    Files.writeString(dir.resolve(".env"), "SECRET=1");
    try (TestServer server = TestServer.start(c -> c.staticDir = dir.toString())) {
      assertTrue(get(server.port(), "/").body().contains("mine"));
      assertEquals(404, get(server.port(), "/.env").statusCode(), "dot files are not served");
      assertTrue(get(server.port(), "/admin/").body().contains("<title>Syncline admin</title>"), "the admin page is not hidden");
      HttpResponse<String> sdk = get(server.port(), "/sdk/index.js");
      assertEquals(200, sdk.statusCode(), "the SDK a page of one's own imports, as the todo example does");
      assertTrue(sdk.body().contains("createClient"));
      assertEquals(404, get(server.port(), "/sdk/no-such-file.js").statusCode());
    }
    try (TestServer server = TestServer.start()) {
      assertEquals(404, get(server.port(), "/").statusCode());
      assertEquals(404, get(server.port(), "/sdk/index.js").statusCode());
    }
  }

  @Test
  @DisplayName("a folder with an sdk/ of its own serves that one at /sdk/, also when it appears while the server runs")
  void ownSdk() throws Exception {
    Path dir = Files.createTempDirectory("syncline-static");
    try (TestServer server = TestServer.start(c -> c.staticDir = dir.toString())) {
      assertTrue(get(server.port(), "/sdk/index.js").body().contains("createClient"), "the bundled one first");
      Files.createDirectory(dir.resolve("sdk"));
      Files.writeString(dir.resolve("sdk/index.js"), "export const mine = true;");
      HttpResponse<String> own = get(server.port(), "/sdk/index.js");
      assertEquals(200, own.statusCode());
      assertEquals("export const mine = true;", own.body());
      assertEquals(404, get(server.port(), "/sdk/client.js").statusCode(), "no mix of the two: the folder's sdk/ is the whole SDK");
    }
  }

  @Test
  @DisplayName("a file added to staticDir while the server runs is served at once, after a 404 for it; an edit too")
  void fileAddedLater() throws Exception {
    Path dir = Files.createTempDirectory("syncline-static");
    try (TestServer server = TestServer.start(c -> c.staticDir = dir.toString())) {
      assertEquals(404, get(server.port(), "/later.html").statusCode());
      assertEquals(404, get(server.port(), "/later.html").statusCode());
      Files.writeString(dir.resolve("later.html"), "<p>here now</p>");
      HttpResponse<String> later = get(server.port(), "/later.html");
      assertEquals(200, later.statusCode(), "no 404 remembered from before");
      assertEquals("<p>here now</p>", later.body());
      Files.writeString(dir.resolve("later.html"), "<p>edited, and longer than before</p>");
      assertEquals("<p>edited, and longer than before</p>", get(server.port(), "/later.html").body());
    }
  }
}
