package dev.syncline.server.testing;

import dev.syncline.server.SynclineServer;
import dev.syncline.server.config.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** A real server on port 0 with its Xodus store in a temp folder; restartable on the same folder. */
public final class TestServer implements AutoCloseable {
  private final Path dir;
  private final Consumer<ServerConfig> tweak;
  private SynclineServer server;

  private TestServer(Path dir, Consumer<ServerConfig> tweak) {
    this.dir = dir;
    this.tweak = tweak;
  }

  public static TestServer start() {
    return start(c -> { });
  }

  /** Starts with the test defaults (port 0, two event loops, database {@code app}, no example), then {@code tweak}. */
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
    c.databases.add("app");
    c.todoExample = false; // tests see only the databases they make
    tweak.accept(c);
    server = SynclineServer.start(c).await();
  }

  public int port() {
    return server.port();
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

  /** Stops the server (closing the store) and starts a new one on the same data folder. */
  public void restart() {
    server.close().await();
    open();
  }

  public void stop() {
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
