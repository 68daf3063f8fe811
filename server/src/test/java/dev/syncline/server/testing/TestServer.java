package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.server.SynclineServer;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.config.ServerConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** A real server on port 0 with its Xodus store in a temp folder; restartable on the same folder. */
public final class TestServer implements AutoCloseable {
  /** Password of the {@code admin} user every test server starts with. */
  public static final String ADMIN_PASSWORD = "admin-password-for-tests";

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final Path dir;
  private final Consumer<ServerConfig> tweak;
  private SynclineServer server;
  private WsClient admin;

  private TestServer(Path dir, Consumer<ServerConfig> tweak) {
    this.dir = dir;
    this.tweak = tweak;
  }

  public static TestServer start() {
    return start(c -> { });
  }

  /**
   * Starts with the test defaults, then {@code tweak}: port 0, two event loops, no example, user
   * {@code admin} with {@link #ADMIN_PASSWORD}, and new databases (among them {@code app}) open to
   * anyone, so tests of sync need no sign-in. Tests of access set {@code newDatabasePolicy} back.
   */
  public static TestServer start(Consumer<ServerConfig> tweak) {
    try {
      TestServer t = new TestServer(Files.createTempDirectory("syncline-test"), tweak);
      t.open();
      return t;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Starts a server on an existing data folder (e.g. one another process wrote). */
  public static TestServer reopen(Path dir) {
    TestServer t = new TestServer(dir, c -> { });
    t.open();
    return t;
  }

  private void open() {
    ServerConfig c = new ServerConfig();
    c.port = 0;
    c.data = dir.toString();
    c.eventLoops = 2;
    c.databases.add(ServerConfig.DatabaseSpec.named("app"));
    c.adminPassword = ADMIN_PASSWORD;
    c.newDatabasePolicy = Policy.OPEN.toJson();
    c.todoExample = false; // tests see only the databases they make
    tweak.accept(c);
    server = SynclineServer.start(c).await();
  }

  public int port() {
    return server.port();
  }

  /** A GET of {@code path} on this server; redirects are not followed. */
  public HttpResponse<String> get(String path) throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  public SynclineServer server() {
    return server;
  }

  public Path dataDir() {
    return dir;
  }

  public WsClient connect(String clientId) {
    WsClient client = WsClient.connect(port());
    client.hello(clientId);
    return client;
  }

  /** A connection signed in as {@code username}. */
  public WsClient connectAs(String clientId, String username, String password) {
    WsClient client = connect(clientId);
    JsonNode token = client.request(WsClient.obj("login").put("username", username).put("password", password));
    if (!"token".equals(token.path("type").asText())) throw new IllegalStateException("sign-in failed: " + token);
    return client;
  }

  /** Sends a request on this server's own admin connection (signed in as {@code admin}) and returns the answer. */
  public synchronized JsonNode admin(ObjectNode request) {
    if (admin == null || admin.isClosed()) admin = connectAs("test-admin", "admin", ADMIN_PASSWORD);
    return admin.request(request);
  }

  /** Stops the server (closing the store) and starts a new one on the same data folder. */
  public void restart() {
    stop();
    open();
  }

  public synchronized void stop() {
    if (admin != null) admin.close();
    admin = null;
    if (server != null) server.close().await();
    server = null;
  }

  @Override
  public void close() {
    stop();
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp folder left behind is harmless
    }
  }
}
