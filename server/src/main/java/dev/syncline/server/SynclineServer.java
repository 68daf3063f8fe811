package dev.syncline.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Hlc;
import dev.syncline.server.admin.AdminOps;
import dev.syncline.server.admin.Backups;
import dev.syncline.server.admin.DatabaseLifecycle;
import dev.syncline.server.auth.SystemDb;
import dev.syncline.server.replication.Replication;
import dev.syncline.server.replication.ReplicationOptions;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.auth.AuthSetup;
import dev.syncline.server.auth.Policy;
import dev.syncline.server.cli.Version;
import dev.syncline.server.commit.CommitStats;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.commit.CommitterOptions;
import dev.syncline.server.config.ServerConfig;
import dev.syncline.server.http.HttpSettings;
import dev.syncline.server.http.HttpVerticle;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.hub.HubOptions;
import dev.syncline.server.metrics.Rates;
import dev.syncline.server.metrics.ServerMetrics;
import dev.syncline.server.session.SessionServices;
import dev.syncline.server.store.Digests;
import dev.syncline.server.store.Store;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.LongSupplier;
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

  /** The database of the bundled todo example. */
  private static final String TODO_DB = "todo";
  private static final long DESTROY_RETRY_MS = 5_000;

  /** This build's version, for {@code server.stats}. */
  private static final String VERSION = Version.current();

  private final ServerConfig config;
  private final Vertx vertx;
  private final long startedAt = System.currentTimeMillis();
  private final List<HttpVerticle> verticles = new CopyOnWriteArrayList<>();
  private final List<String> deployments = new ArrayList<>();
  private final ServerMetrics metrics = new ServerMetrics();
  private Store store;
  private HlcClock clock;
  private Auth auth;
  private Committer committer;
  private Hub hub;
  private DatabaseLifecycle databases;
  private Replication replication;
  /** Databases that waited for a peer's policies when the server stopped (read with the store). */
  private List<Store.PolicyWaitRecord> policyWaits = List.of();
  private Set<String> forgottenPeers = Set.of();
  private Rates rates;
  private long ratesTimer = -1;
  private long destroyRetryTimer = -1;
  private String serverId;
  private int port;
  private volatile boolean ready;
  private volatile boolean closing;
  private String startupNotice;
  private Promise<Void> closed;

  private SynclineServer(ServerConfig config) {
    this.config = config;
    // epoll where the jar's native library loads (Linux x86-64), else NIO
    VertxOptions options = new VertxOptions().setEventLoopPoolSize(config.eventLoops).setPreferNativeTransport(true);
    if (config.metrics.enabled) {
      this.vertx = Vertx.builder().with(options.setMetricsOptions(metrics.vertxOptions()))
          .withMetrics(metrics.vertxMetrics()).build();
    } else {
      this.vertx = Vertx.vertx(options);
    }
  }

  /** Opens the store and starts listening. Fails (and releases everything) when either cannot be done. */
  public static Future<SynclineServer> start(ServerConfig config) {
    try {
      config.validate();
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
    SynclineServer server = new SynclineServer(config);
    Promise<SynclineServer> started = Promise.promise();
    server.boot().onComplete(ar -> {
      if (ar.succeeded()) {
        started.complete(server);
      } else {
        // the admin user it made is stored: its password is told now, or never
        if (server.startupNotice != null) System.out.println(server.startupNotice);
        Throwable why = StartupProblems.explain(ar.cause(), config);
        // an expected mistake is told in one line by whoever started us; anything else is a bug to report in full
        if (!(why instanceof StartupException)) log.error("Syncline failed to start", why);
        server.close().onComplete(v -> started.fail(why));
      }
    });
    return started.future();
  }

  /**
   * Listens first, so a taken port fails the start before the data folder is touched; then opens
   * the store and hands the listeners their services. Only then is the operator told a generated
   * admin password.
   */
  private Future<SynclineServer> boot() {
    if (config.tls.enabled()) {
      try {
        dev.syncline.server.http.TlsFiles.check(vertx, config.tls.certFile, config.tls.keyFile);
      } catch (StartupException e) {
        return Future.failedFuture(e);
      }
    }
    HttpSettings settings = new HttpSettings(config.host, config.port, config.maxMessageBytes, config.compression,
        config.socketWriteQueueBytes, config.staticDir, config.todoExample, config.readIdleTimeoutSeconds, config.trustProxy,
        config.tls.certFile, config.tls.keyFile, config.metrics.enabled ? config.metrics.access : null);
    // one instance per event loop; instances of one deployment share the port, even port 0
    return vertx.deployVerticle(() -> {
          HttpVerticle verticle = new HttpVerticle(settings, this::health, metrics::scrape);
          verticles.add(verticle);
          return verticle;
        }, new DeploymentOptions().setInstances(config.eventLoops))
        .onSuccess(deployments::add)
        .map(id -> port = verticles.get(0).port())
        .compose(p -> vertx.executeBlocking(this::openStore))
        .compose(v -> {
          // destroys and auth see each commit before the hub fans it out, so access checks already use it;
          // destroys first: a destroyed database's subscribers are told not_found before the policies it
          // lost are looked at; each runs whatever the one before it threw
          committer = new Committer(store, new CommitterOptions(config.maxQueuedDeltas, config.maxGroupDeltas,
              config.tombstoneRetentionMs, config.purgeIntervalMs, config.purgeBatchEntries, config.maxQueuedBytes), group -> {
                try {
                  databases.committed(group);
                } finally {
                  try {
                    auth.committed(group);
                  } finally {
                    hub.committed(group);
                  }
                }
              });
          auth.useCommitter(committer);
          // a big database's destroy goes in steps, each queued behind the commits waiting
          databases.continueWith(step -> committer.execute(s -> {
            step.run();
            return null;
          }));
          replication = new Replication(vertx, serverId, new ReplicationOptions(config.peers, config.clusterSecret,
              config.writeQuorum, config.quorumTimeoutMs, config.digestIntervalMs, config.peerPingIntervalMs,
              config.peerReconnectMaxMs, config.maxClockSkewMs, config.tombstoneRetentionMs, config.tls.trustFile),
              store, committer, hub, clock, SystemDb.LOCAL_COLLECTIONS, config.catchUpPageDeltas, config.catchUpPageBytes,
              db -> auth.directory().storedPolicy(db, null) != null, policyWaits, forgottenPeers);
          AdminOps admin = new AdminOps(store, committer, hub, auth, replication, databases, this::stats, config.limits());
          SessionServices services = new SessionServices(vertx, serverId, clock, config.limits(),
              config.maxBadMessagesPerMinute, config.messagesPerSecond, config.maxUnansweredDeltas, config.maxUnansweredBytes, auth, store, committer, hub, admin, replication,
              metrics);
          bindMetrics();
          startRates();
          startDestroyRetries();
          Backups backups = new Backups(vertx, store, Path.of(config.data), serverId);
          return Future.all(verticles.stream().map(h -> h.attach(services, backups)).toList());
        })
        .compose(v -> vertx.executeBlocking(() -> replication.start()).compose(f -> f))
        .map(v -> {
          ready = true;
          if (startupNotice != null) System.out.println(startupNotice); // to the console only, never to a log
          String scheme = config.tls.enabled() ? "https" : "http";
          log.info("Syncline listening on {}://{}:{} (WebSocket {}, {}), data in {}, durability {}", scheme,
              config.host, port, HttpVerticle.SYNC_PATH, vertx.isNativeTransportEnabled() ? "epoll" : "NIO",
              Path.of(config.data).toAbsolutePath().normalize(), config.durability);
          return this;
        });
  }

  /** Syncline's own meters, read from the counters the server keeps anyway. */
  private void bindMetrics() {
    metrics.gauge("syncline.connections", "Open WebSocket connections accepted here: clients, and peers that dialed this server (links it dialed: syncline_peer_up)", verticles,
        v -> v.stream().mapToInt(HttpVerticle::connections).sum());
    metrics.gauge("syncline.subscriptions", "Open subscriptions", hub, Hub::subscriptions);
    metrics.gauge("syncline.subscriptions.lagging", "Subscriptions fed from the store because their socket fell behind",
        hub, Hub::laggingSubscriptions);
    metrics.counter("syncline.subscriptions.lag.events", "Times a subscription fell behind", hub, Hub::lagEvents);
    metrics.counter("syncline.catchup.pages", "Catch-up pages read from the store", hub, Hub::pagesRead);
    metrics.counter("syncline.fanout.commits.not.queued", "Group commits an event loop was too far behind to queue; its subscribers read them from the store",
        hub, Hub::commitsNotQueued);
    metrics.gauge("syncline.fanout.buffered.bytes", "Live changes held for busy subscribers", hub, Hub::bufferedBytes);
    metrics.gauge("syncline.write.queue.deltas", "Deltas waiting for the writer", committer, Committer::queuedDeltas);
    metrics.counter("syncline.write.overloaded", "Pushes refused because the write queue was full", committer,
        c -> c.stats().overloadedRejections());
    metrics.counter("syncline.commit.groups", "Group commits", committer, c -> c.stats().groups());
    metrics.counter("syncline.store.log.files.cleaned", "Store log files the writer cleaned of garbage", committer,
        c -> c.stats().logFilesCleaned());
    metrics.counter("syncline.store.log.entries.swept", "Superseded change-log entries the writer deleted", committer,
        c -> c.stats().logEntriesSwept());
    metrics.gauge("syncline.store.log.entries.waiting", "Superseded change-log entries waiting to be swept", store,
        Store::staleLogEntries);
    committer.stats().observe(metrics::groupCommitted);
    metrics.counter("syncline.auth.failed", "Sign-ins refused for a wrong username or password", auth,
        Auth::failedSignIns);
    metrics.counter("syncline.auth.locked.out", "Sign-ins refused because the username or address was locked out",
        auth, Auth::lockedOutSignIns);
    metrics.counter("syncline.auth.tokens.refused", "Tokens refused (bad, expired, or the user can no longer sign in)",
        auth, Auth::refusedTokens);
    metrics.gauge("syncline.store.disk.bytes", "Bytes the store takes on disk", store, Store::diskBytes);
    metrics.gauge("syncline.store.databases", "Databases", store, s -> s.databases().size());
    metrics.peers(replication::stats);
  }

  /** The live rates of {@code server.stats}, sampled once a second. */
  private void startRates() {
    Map<String, LongSupplier> counters = new LinkedHashMap<>();
    counters.put("deltas", () -> committer.stats().deltas());
    counters.put("pushes", () -> committer.stats().pushes());
    counters.put("groups", () -> committer.stats().groups());
    counters.put("bytesIn", metrics::bytesIn);
    counters.put("bytesOut", metrics::bytesOut);
    rates = new Rates(counters);
    rates.sample();
    ratesTimer = vertx.setPeriodic(1000, id -> rates.sample());
  }

  /** A destroy that failed on the writer is tried again every few seconds, not only at the next start. */
  private void startDestroyRetries() {
    destroyRetryTimer = vertx.setPeriodic(DESTROY_RETRY_MS, id -> {
      if (databases.hasFailed()) committer.execute(s -> databases.retry());
    });
  }

  private Void openStore() throws IOException {
    Digests.warmUp(); // every delta stored or replicated is hashed, on the event loops
    Path dir = Path.of(config.data);
    // made here: its owner's only, as it holds the token signing key and password hashes
    boolean posix = dir.getFileSystem().supportedFileAttributeViews().contains("posix");
    if (!Files.exists(dir) && posix) {
      Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    Files.createDirectories(dir);
    if (posix) {
      var perms = Files.getPosixFilePermissions(dir);
      if (perms.contains(java.nio.file.attribute.PosixFilePermission.GROUP_READ)
          || perms.contains(java.nio.file.attribute.PosixFilePermission.OTHERS_READ)) {
        log.warn("the data folder {} can be read by other users ({}); it holds password hashes and the token signing key: chmod 700 it",
            dir.toAbsolutePath().normalize(), PosixFilePermissions.toString(perms));
      }
    }
    serverId = config.serverId != null ? config.serverId : loadOrCreateServerId(dir);
    store = Store.openXodus(dir.resolve("store"), config.durable(), config.storeCacheBytes,
        config.storeMinUtilization, SystemDb.LOCAL_COLLECTIONS);
    clock = new HlcClock(serverId);
    // never stamp below what was written before a restart, even if the wall clock went back
    if (store.maxTimestamp() != null) clock.receive(Hlc.parse(store.maxTimestamp()));
    AuthSetup.Opened opened = AuthSetup.open(vertx, store, new Auth.Options(config.jwtIssuer, config.tokenExpirySeconds,
        config.signup, config.loginFailuresPerUser, config.loginFailuresPerAddress, config.lockoutBaseMs,
        config.lockoutMaxMs, config.signupsPerAddressPerHour, newDatabasePolicy()), clock, seed());
    auth = opened.auth();
    startupNotice = opened.notice();
    hub = new Hub(vertx, store, new HubOptions(config.subscriberBufferBytes, config.catchUpPageDeltas,
        config.catchUpPageBytes, config.catchUpThreads, config.loopInboxBytes));
    databases = new DatabaseLifecycle(store, hub);
    databases.catchUp(); // a destroy that was committed but not carried out before a stop
    // read here, off the event loops, for replication
    policyWaits = store.policyWaits();
    forgottenPeers = store.forgottenPeers();
    return null;
  }

  private Policy newDatabasePolicy() {
    return absent(config.newDatabasePolicy) ? Policy.SIGNED_IN : Policy.parse(config.newDatabasePolicy, "newDatabasePolicy");
  }

  /** A JSON setting left out or set to null (the config loader turns an unset field into JSON null). */
  private static boolean absent(com.fasterxml.jackson.databind.JsonNode setting) {
    return setting == null || setting.isNull();
  }

  /** Users, databases and policies the config declares; the todo example's database is open to anyone. */
  private AuthSetup.Seed seed() {
    List<AuthSetup.SeedDatabase> dbs = new ArrayList<>();
    boolean todoDeclared = false;
    for (ServerConfig.DatabaseSpec d : config.databases) {
      Map<String, Policy> cols = new LinkedHashMap<>();
      d.collections.forEach((col, p) -> cols.put(col, Policy.parse(p, "databases." + d.name + ".collections." + col)));
      Policy policy = absent(d.policy) ? null : Policy.parse(d.policy, "databases." + d.name + ".policy");
      boolean todo = config.todoExample && d.name.equals(TODO_DB);
      todoDeclared |= todo;
      dbs.add(new AuthSetup.SeedDatabase(d.name, policy, cols, todo ? Policy.OPEN : newDatabasePolicy()));
    }
    if (config.todoExample && !todoDeclared) dbs.add(new AuthSetup.SeedDatabase(TODO_DB, null, Map.of(), Policy.OPEN));
    List<AuthSetup.SeedUser> users = config.users.stream()
        .map(u -> new AuthSetup.SeedUser(u.username, u.password, u.roles)).toList();
    // every server of a cluster signs with the same key, so a token from one works on all
    String signingKey = config.jwtSecret != null ? config.jwtSecret
        : config.clusterSecret != null ? Replication.signingKeyFor(config.clusterSecret) : null;
    return new AuthSetup.Seed(config.adminPassword, signingKey, users, dbs, !config.peers.isEmpty(), config.clusterSecret);
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

  /** The single writer: for tests of this package that must hold it still (overload, ordering). */
  dev.syncline.server.commit.Committer committer() {
    return committer;
  }

  public Vertx vertx() {
    return vertx;
  }

  /**
   * Shuts down gracefully: closes every connection with 1001 and stops listening, commits what is
   * queued, closes the store. Runs on a thread of its own, because it waits for the event loops
   * and the writer it is stopping.
   */
  public Future<Void> close() {
    synchronized (this) {
      if (closed != null) return closed.future();
      closed = Promise.promise();
    }
    closing = true;
    Thread t = new Thread(() -> {
      try {
        // each step within its share of the 30 s a shutdown hook is given, so that a peer or a
        // connection slow to close never keeps the writer and the store from closing
        if (replication != null) awaitQuietly(replication.stop(), 5);
        vertx.cancelTimer(ratesTimer);
        vertx.cancelTimer(destroyRetryTimer);
        List<Future<Void>> undeployed = new ArrayList<>();
        for (String id : deployments) undeployed.add(vertx.undeploy(id));
        awaitQuietly(Future.join(undeployed), 5);
        if (committer != null) committer.close();
        if (store != null) store.close();
        awaitQuietly(vertx.close(), 5);
        metrics.close();
        if (ready) log.info("Syncline stopped"); // a start that failed is told in one line by its caller
        closed.complete();
      } catch (RuntimeException e) {
        log.error("shutdown failed", e);
        closed.fail(e);
      }
    }, "syncline-shutdown");
    t.start();
    return closed.future();
  }

  private static void awaitQuietly(Future<?> f, int seconds) {
    try {
      f.toCompletionStage().toCompletableFuture().get(seconds, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("shutdown step did not finish cleanly: {}", e.toString());
    }
  }

  private JsonObject health() {
    if (!ready) return new JsonObject().put("status", closing ? "stopping" : "starting");
    int connections = verticles.stream().mapToInt(HttpVerticle::connections).sum();
    return new JsonObject()
        .put("status", closing ? "stopping" : "ok")
        .put("serverId", serverId)
        .put("connections", connections)
        .put("databases", store.databases().size());
  }

  /** What the {@code server.stats} admin op answers (PROTOCOL §12); completes on the caller's event loop. */
  public Future<ObjectNode> stats() {
    ObjectNode out = localStats();
    return replication.stats().map(peers -> {
      out.set("peers", peers);
      out.putObject("replication").put("caughtUp", replication.caughtUp()).put("writeQuorum", replication.writeQuorum())
          .put("clusterSize", replication.clusterSize());
      return out;
    });
  }

  private ObjectNode localStats() {
    CommitStats c = committer.stats();
    Runtime rt = Runtime.getRuntime();
    ObjectNode out = Json.MAPPER.createObjectNode()
        .put("serverId", serverId)
        .put("version", VERSION)
        .put("dataPath", Path.of(config.data).toAbsolutePath().normalize().toString())
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
        .put("overloaded", c.overloadedRejections())
        .put("logFilesCleaned", c.logFilesCleaned())
        .put("cleanMs", c.cleanMillis())
        .put("logEntriesSwept", c.logEntriesSwept())
        .put("logEntriesWaiting", store.staleLogEntries())
        .put("sweepMs", c.sweepMillis());
    out.putObject("fanout")
        .put("subscriptions", hub.subscriptions())
        .put("lagging", hub.laggingSubscriptions())
        .put("lagEvents", hub.lagEvents())
        .put("commitsNotQueued", hub.commitsNotQueued())
        .put("pagesRead", hub.pagesRead())
        .put("bufferedBytes", hub.bufferedBytes());
    out.putObject("heap").put("usedBytes", rt.totalMemory() - rt.freeMemory()).put("maxBytes", rt.maxMemory());
    ObjectNode perSecond = out.putObject("rates")
        .put("deltasPerSecond", rates.perSecond("deltas"))
        .put("pushesPerSecond", rates.perSecond("pushes"))
        .put("groupsPerSecond", rates.perSecond("groups"));
    if (config.metrics.enabled) { // Vert.x counts bytes only with its metrics on
      perSecond.put("bytesInPerSecond", rates.perSecond("bytesIn")).put("bytesOutPerSecond", rates.perSecond("bytesOut"));
    }
    return out;
  }
}
