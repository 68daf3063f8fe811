package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import dev.syncline.server.SynclineServer;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.config.ServerConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * One server of a test cluster, with its own data folder, on port 0: in this JVM, or in a JVM of
 * its own when it must be killed with SIGKILL. Restarts keep the folder (and so the server id
 * and the store); the port may change, which the cluster's proxies follow.
 */
public final class ClusterNode implements AutoCloseable {
  /** The secret of every test cluster. */
  public static final String CLUSTER_SECRET = "a test cluster secret of at least 32 characters";

  private final String name;
  private final Path dir;
  private final boolean ownProcess;
  private final List<String> peers = new ArrayList<>();
  private Consumer<ServerConfig> tweak;
  private SynclineServer server;
  private ServerProcess process;
  private WsClient admin;

  ClusterNode(String name, boolean ownProcess, Consumer<ServerConfig> tweak) {
    this.name = name;
    this.ownProcess = ownProcess;
    this.tweak = tweak;
    try {
      this.dir = Files.createTempDirectory("syncline-" + name);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public String name() {
    return name;
  }

  public Path dataDir() {
    return dir;
  }

  void addPeer(String url) {
    peers.add(url);
  }

  /** Changes the settings the next start uses. */
  public void tweak(Consumer<ServerConfig> more) {
    tweak = tweak.andThen(more);
  }

  /** The settings of every test cluster node: fast pings, reconnects and digest checks. */
  ServerConfig config() {
    ServerConfig c = new ServerConfig();
    c.port = 0;
    c.data = dir.toString();
    c.eventLoops = 2;
    c.databases.add(ServerConfig.DatabaseSpec.named("app"));
    c.adminPassword = TestServer.ADMIN_PASSWORD;
    c.newDatabasePolicy = Policy.OPEN.toJson();
    c.todoExample = false;
    c.clusterSecret = CLUSTER_SECRET;
    c.peers = new ArrayList<>(peers);
    c.digestIntervalMs = 1000;
    c.peerPingIntervalMs = 500;
    c.peerReconnectMaxMs = 1000;
    c.catchUpThreads = 2;
    tweak.accept(c);
    return c;
  }

  public void start() {
    ServerConfig c = config();
    if (!ownProcess) {
      server = SynclineServer.start(c).await();
      return;
    }
    try {
      ObjectNode json = Json.MAPPER.valueToTree(c);
      // the command line sets these; null settings are left at their defaults
      for (String k : List.of("port", "data")) json.remove(k);
      json.properties().removeIf(e -> e.getValue().isNull());
      process = ServerProcess.start(dir, json.toString());
    } catch (Exception e) {
      throw new IllegalStateException(name + " did not start", e);
    }
  }

  public boolean running() {
    return server != null || (process != null && process.isAlive());
  }

  /** The running server, for tests that must reach inside it (holding its writer still). */
  public SynclineServer server() {
    return server;
  }

  public int port() {
    if (server != null) return server.port();
    if (process != null) return process.port();
    throw new IllegalStateException(name + " is not running");
  }

  public String serverId() {
    return hello().path("serverId").asText();
  }

  private JsonNode hello() {
    try (WsClient c = WsClient.connect(port())) {
      return c.hello("probe");
    }
  }

  /** Stops gracefully (SIGTERM for a process). */
  public void stop() {
    dropAdmin();
    if (server != null) server.close().await();
    server = null;
    if (process != null) {
      try {
        process.terminate();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      process = null;
    }
  }

  /** SIGKILL: no shutdown of any kind. Only for nodes in their own process. */
  public void kill() {
    if (!ownProcess) throw new IllegalStateException("only a node in its own process can be killed");
    dropAdmin();
    process.kill();
    process = null;
  }

  public WsClient connect(String clientId) {
    WsClient c = WsClient.connect(port());
    c.hello(clientId);
    return c;
  }

  /** A request on this node's admin connection. */
  public synchronized JsonNode admin(ObjectNode request) {
    if (admin == null || admin.isClosed()) {
      admin = connect("admin-of-" + name);
      JsonNode token = admin.request(WsClient.obj("login").put("username", "admin").put("password", TestServer.ADMIN_PASSWORD));
      if (!"token".equals(token.path("type").asText())) throw new IllegalStateException(name + ": admin sign-in failed: " + token);
    }
    return admin.request(request);
  }

  private synchronized void dropAdmin() {
    if (admin != null) admin.close();
    admin = null;
  }

  /** {@code db.digest} of one database, or null when it does not exist here. */
  public JsonNode digest(String db) {
    JsonNode r = admin(Deltas.admin("db.digest", Deltas.args().put("db", db)));
    return "result".equals(r.path("type").asText()) ? r.get("data") : null;
  }

  public JsonNode stats() {
    return admin(Deltas.admin("server.stats", null)).get("data");
  }

  /** Every register of a database (tombstones included), read as a fresh subscriber from 0. */
  public Map<String, Replica.Reg> registers(String db) {
    try (WsClient c = connect("reader-of-" + name)) {
      JsonNode token = c.request(WsClient.obj("login").put("username", "admin").put("password", TestServer.ADMIN_PASSWORD));
      if (!"token".equals(token.path("type").asText())) throw new IllegalStateException("sign-in failed: " + token);
      Replica replica = new Replica();
      c.listen(replica::apply);
      JsonNode subscribed = c.request(Deltas.sub(db, 0));
      if (!"subscribed".equals(subscribed.path("type").asText())) throw new IllegalStateException(name + ": " + subscribed);
      String sid = subscribed.path("sid").asText();
      c.await(m -> "synced".equals(m.path("type").asText()) && sid.equals(m.path("sid").asText()));
      return replica.registers();
    }
  }

  private void dropDir() {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp folder left behind is harmless
    }
  }

  @Override
  public void close() {
    if (process != null) process.kill();
    process = null;
    stop();
    dropDir();
  }
}
