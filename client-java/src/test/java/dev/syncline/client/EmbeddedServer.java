package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.server.SynclineServer;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.protocol.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** A real server in this JVM on port 0, its store in a temp folder; restartable on the same folder and port. */
final class EmbeddedServer implements AutoCloseable {
  static final String ADMIN_PASSWORD = "admin-password-for-tests";
  /** A policy that lets anyone do anything, so tests of sync need no sign-in. */
  static final String OPEN = "{\"read\":[\"$all\"],\"create\":[\"$all\"],\"update\":[\"$all\"],\"destroy\":[\"$all\"]}";

  private final Path dir;
  private final Consumer<ServerConfig> tweak;
  private SynclineServer server;
  private int port;

  private EmbeddedServer(Consumer<ServerConfig> tweak) throws IOException {
    this.dir = Files.createTempDirectory("syncline-client-test-server");
    this.tweak = tweak;
  }

  static EmbeddedServer start() {
    return start(c -> { });
  }

  static EmbeddedServer start(Consumer<ServerConfig> tweak) {
    try {
      EmbeddedServer s = new EmbeddedServer(tweak);
      s.open(0);
      return s;
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private void open(int onPort) throws IOException {
    ServerConfig c = new ServerConfig();
    c.port = onPort;
    c.data = dir.toString();
    c.eventLoops = 2;
    c.adminPassword = ADMIN_PASSWORD;
    c.newDatabasePolicy = Json.MAPPER.readTree(OPEN);
    c.todoExample = false;
    c.databases.add(ServerConfig.DatabaseSpec.named("app"));
    tweak.accept(c);
    server = SynclineServer.start(c).await();
    port = server.port();
  }

  int port() {
    return port;
  }

  String url() {
    return "ws://127.0.0.1:" + port + "/sync";
  }

  Path dataDir() {
    return dir;
  }

  SynclineServer server() {
    return server;
  }

  void stop() {
    if (server != null) server.close().await();
    server = null;
  }

  /** Starts again on the same folder and port (clients reconnect to the same URL). */
  void restart() {
    stop();
    try {
      open(port);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
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

  static JsonNode json(String text) {
    try {
      return Json.MAPPER.readTree(text);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
