package dev.syncline.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Json;
import dev.syncline.server.admin.AdminOps;
import dev.syncline.server.commit.CommitStats;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.commit.CommitterOptions;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.http.HttpSettings;
import dev.syncline.server.http.HttpVerticle;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.hub.HubOptions;
import dev.syncline.server.session.SessionServices;
import dev.syncline.server.store.Store;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Syncline server — the embedding API. A JVM application starts one in-process:
 *
 * <pre>{@code
 * ServerConfig config = new ServerConfig();
 * config.port = 0;                       // any free port
 * config.data = "/var/lib/myapp/sync";
 * SynclineServer server = SynclineServer.start(config).await();
 * int port = server.port();
 * ...
 * server.close().await();
 * }</pre>
 */
public final class SynclineServer {
  private static final Logger log = LoggerFactory.getLogger(SynclineServer.class);

  private final ServerConfig config;
  private final Vertx vertx;
  private final long startedAt = System.currentTimeMillis();
  private final List<HttpVerticle> verticles = new CopyOnWriteArrayList<>();
  private final List<String> deployments = new ArrayList<>();
  private Store store;
  private Committer committer;
  private Hub hub;
  private String serverId;
  private int port;
  private volatile boolean closing;

  private SynclineServer(ServerConfig config) {
    this.config = config;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(config.eventLoops));
  }

  /** Opens the store and starts listening. Fails (and releases everything) when either cannot be done. */
  public static Future<SynclineServer> start(ServerConfig config) {
    try {
      config.validate();
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    SynclineServer server = new SynclineServer(config);
    return server.boot().recover(e -> server.vertx.close().transform(v -> Future.failedFuture(e)));
  }

  private Future<SynclineServer> boot() {
    return vertx.executeBlocking(this::openStore).compose(v -> {
      hub = new Hub(vertx, store, new HubOptions(config.subscriberBufferBytes, config.catchUpPageDeltas,
          config.catchUpPageBytes, config.catchUpThreads));
      committer = new Committer(store, new CommitterOptions(config.maxQueuedDeltas, config.maxGroupDeltas,
          config.tombstoneRetentionMs, config.purgeIntervalMs, 10_000), hub);
      AdminOps admin = new AdminOps(store, committer, hub, this::stats);
      SessionServices services = new SessionServices(serverId, new HlcClock(serverId), config.limits(),
          config.maxBadMessagesPerMinute, store, committer, hub, admin);
      // the first instance binds (port 0 picks one); the others share that port
      return deploy(services, config.port).compose(first -> {
        port = first.port();
        List<Future<HttpVerticle>> rest = new ArrayList<>();
        for (int i = 1; i < config.eventLoops; i++) rest.add(deploy(services, port));
        return Future.all(rest);
      });
    }).map(v -> {
      log.info("Syncline listening on http://{}:{} (WebSocket {}), data in {}, durability {}",
          config.host, port, HttpVerticle.SYNC_PATH, Path.of(config.data).toAbsolutePath(), config.durability);
      return this;
    }).recover(e -> closeStore().transform(v -> Future.failedFuture(e)));
  }

  private Future<HttpVerticle> deploy(SessionServices services, int listenPort) {
    HttpSettings settings = new HttpSettings(config.host, listenPort, config.maxMessageBytes, config.compression,
        config.socketWriteQueueBytes, config.staticDir);
    HttpVerticle verticle = new HttpVerticle(settings, services, this::health);
    return vertx.deployVerticle(verticle, new DeploymentOptions()).map(id -> {
      deployments.add(id);
      verticles.add(verticle);
      return verticle;
    });
  }

  private Void openStore() throws IOException {
    Path dir = Path.of(config.data);
    Files.createDirectories(dir);
    serverId = config.serverId != null ? config.serverId : loadOrCreateServerId(dir);
    store = Store.openXodus(dir.resolve("store"), config.durable());
    for (String db : config.databases) {
      if (store.createDatabase(db, System.currentTimeMillis()).isPresent()) log.info("created database {}", db);
    }
    return null;
  }

  /** A server id made once per data folder, so timestamps this server writes keep one origin. */
  private static String loadOrCreateServerId(Path dir) throws IOException {
    Path file = dir.resolve("server-id");
    if (Files.exists(file)) return Files.readString(file, StandardCharsets.UTF_8).trim();
    String id = "srv-" + UUID.randomUUID().toString().substring(0, 8);
    Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
    return id;
  }

  /** The port the server listens on. */
  public int port() {
    return port;
  }

  public String host() {
    return config.host;
  }

  public String serverId() {
    return serverId;
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * Shuts down gracefully: closes every connection with 1001 and stops listening, commits what is
   * queued, closes the store.
   */
  public Future<Void> close() {
    if (closing) return Future.succeededFuture();
    closing = true;
    List<Future<Void>> undeployed = new ArrayList<>();
    for (String id : deployments) undeployed.add(vertx.undeploy(id));
    return Future.join(undeployed)
        .transform(ar -> closeStore())
        .transform(ar -> vertx.close())
        .onSuccess(v -> log.info("Syncline stopped"));
  }

  private Future<Void> closeStore() {
    return vertx.executeBlocking(() -> {
      if (committer != null) committer.close();
      if (store != null) store.close();
      return null;
    });
  }

  private JsonObject health() {
    int connections = verticles.stream().mapToInt(HttpVerticle::connections).sum();
    return new JsonObject()
        .put("status", closing ? "stopping" : "ok")
        .put("serverId", serverId)
        .put("connections", connections)
        .put("databases", store.databases().size());
  }

  private ObjectNode stats() {
    CommitStats c = committer.stats();
    Runtime rt = Runtime.getRuntime();
    ObjectNode out = Json.MAPPER.createObjectNode()
        .put("serverId", serverId)
        .put("uptimeMs", System.currentTimeMillis() - startedAt)
        .put("connections", verticles.stream().mapToInt(HttpVerticle::connections).sum())
        .put("subscriptions", hub.subscriptions())
        .put("databases", store.databases().size())
        .put("diskBytes", store.diskBytes())
        .put("durability", config.durability);
    out.putObject("writes")
        .put("groups", c.groups())
        .put("pushes", c.pushes())
        .put("deltas", c.deltas())
        .put("meanCommitMicros", c.meanCommitMicros())
        .put("queuedDeltas", committer.queuedDeltas())
        .put("overloaded", c.overloadedRejections());
    out.putObject("heap").put("usedBytes", rt.totalMemory() - rt.freeMemory()).put("maxBytes", rt.maxMemory());
    return out;
  }
}
