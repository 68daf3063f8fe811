package dev.syncline.server.config;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every setting of a Syncline server, with its default. Settings are read once at start-up: from
 * these defaults, then the JSON config file ({@code --config}), then {@code SYNCLINE_*} environment
 * variables, then command-line flags — each later source overrides the earlier. The JSON keys are
 * the field names below; the environment variable of a key is {@code SYNCLINE_} plus the key in
 * upper snake case ({@code maxMessageBytes} → {@code SYNCLINE_MAX_MESSAGE_BYTES}).
 */
public final class ServerConfig {
  /** Address to listen on. Default {@code 127.0.0.1}: reachable from this machine only. */
  public String host = "127.0.0.1";

  /** Port to listen on; 0 picks a free port (logged, and readable through the embedding API). Default 8080. */
  public int port = 8080;

  /** Folder of the embedded Xodus store; created when absent. Default {@code ./data}. */
  public String data = "./data";

  /**
   * {@code sync} (default): a push is acked only after its group commit is fsynced.
   * {@code async}: acked once written to the OS, which flushes later — faster, but the last
   * moments of acked writes can be lost if the machine (not just the process) fails.
   */
  public String durability = "sync";

  /** Bytes of page cache for the store; 0 (default) lets it take a quarter of the heap. */
  public long storeCacheBytes = 0;

  /**
   * The store's log is cleaned (its live entries copied out of mostly-garbage files, which are then
   * deleted) only while less than this percentage of it is live. Default 50: the log takes up to
   * about twice its live data. Lower takes more disk (up to 100/N times the live data) for fewer
   * cleanings, which cost the single writer time and hold up the pushes that arrive meanwhile;
   * higher, the reverse. 10 to 90.
   */
  public int storeMinUtilization = 50;

  /** This server's id: the ORIGIN of timestamps it writes. Default: made once and kept in the data folder. */
  public String serverId;

  /** Event loops serving connections. Default: the number of cores. */
  public int eventLoops = Runtime.getRuntime().availableProcessors();

  /** Folder of static files served at {@code /}; when unset, the bundled todo example is (see {@link #todoExample}). */
  public String staticDir;

  /**
   * Serve the bundled TodoMVC example at {@code /} (when {@link #staticDir} is unset) and ensure
   * its database {@code todo}. Default true, so the first run shows something; turn off in production.
   */
  public boolean todoExample = true;

  /**
   * Databases ensured at start-up: each entry is a name ({@code "notes"}), or an object
   * {@code {"name", "policy", "collections": {COL: policy}}}. A declared policy is enforced at
   * every start; without one, a new database gets the default (every action for {@code $user}).
   */
  public List<DatabaseSpec> databases = new ArrayList<>();

  // ---- sign-in ----

  /**
   * Password of the {@code admin} user created at the first start on an empty store (env
   * {@code SYNCLINE_ADMIN_PASSWORD}). When unset, one is generated and printed once to the console.
   */
  public String adminPassword;

  /**
   * Secret that signs tokens (HS256), at least 32 characters; every server that must accept the
   * same tokens needs the same one. Default: generated at the first start and kept in the store.
   */
  public String jwtSecret;

  /** Issuer written into tokens and required of every token presented. Default {@code syncline}. */
  public String jwtIssuer = "syncline";

  /** Lifetime of a token, in seconds. Default 604800 (7 days); clients renew before it ends. */
  public long tokenExpirySeconds = 7L * 24 * 3600;

  /** Whether anyone may create an account with the {@code signup} message. Default false. */
  public boolean signup = false;

  /**
   * Accounts one address may create by {@code signup} per hour, refilled evenly; beyond it
   * {@code signup} gets {@code rate_limited}. 0 turns the budget off. Default 10.
   */
  public int signupsPerAddressPerHour = 10;

  /**
   * Policy of a database created without one (by {@code db.create} or {@link #databases}), as
   * {@code {"read": [...], ...}}. Default null: every action for {@code $user}, any signed-in user.
   */
  public JsonNode newDatabasePolicy;

  /**
   * Users ensured at start-up: {@code [{"username", "password", "roles": [...]}]}; existing ones keep
   * their password; {@code roles}, when given, are enforced at every start (without it, an existing
   * user keeps the roles admins gave it).
   */
  public List<UserSpec> users = new ArrayList<>();

  /** Failed sign-ins for one username before it is locked out, for a time that doubles with each further failure. Default 5. */
  public int loginFailuresPerUser = 5;

  /**
   * Behind a reverse proxy: take the client's address (for the per-address sign-in lock-out and
   * sign-up budget) from the last entry of {@code X-Forwarded-For}, the one the proxy added,
   * instead of the socket. Only with a proxy that sets that header, or clients could choose their
   * address. Default false.
   */
  public boolean trustProxy = false;

  /** Failed sign-ins from one address before it is locked out (higher: many people may share one). Default 20. */
  public int loginFailuresPerAddress = 20;

  /** The first lock-out, in ms; each further failure doubles it. Default 1000. */
  public long lockoutBaseMs = 1000;

  /** The longest lock-out, in ms. Default 900000 (15 minutes). */
  public long lockoutMaxMs = 15 * 60 * 1000;

  /**
   * Messages one connection may send per second, on average (bursts of twice that are allowed);
   * beyond it a message is answered {@code rate_limited} and dropped. 0 turns it off. Default 1000.
   */
  public int messagesPerSecond = 1000;

  // ---- limits, announced in welcome.limits ----

  /** Largest text frame; a larger one closes the connection with 1009. Default 1 MiB. */
  public int maxMessageBytes = 1 << 20;
  /** Most deltas in one push. Default 1000. */
  public int maxDeltasPerPush = 1000;
  /** Longest document id, in characters. Default 256. */
  public int maxIdLength = 256;
  /** Longest collection name, in characters. Default 256. */
  public int maxColLength = 256;
  /** Longest attribute name, in characters. Default 256. */
  public int maxAttrLength = 256;
  /** Largest encoded value of one attribute, in bytes. Default 64 KiB. */
  public int maxValueBytes = 64 * 1024;
  /** How far a delta's MS may be ahead of the server clock before {@code clock_skew}. Default 60000. */
  public long maxClockSkewMs = 60_000;
  /** Most open subscriptions per connection. Default 100. */
  public int maxSubscriptions = 100;
  /** Malformed messages a connection may send per minute before it is closed with 1008. Default 60. */
  public int maxBadMessagesPerMinute = 60;

  // ---- writer ----

  /** Deltas that may wait for the writer before pushes get {@code overloaded}. Default 200000. */
  public int maxQueuedDeltas = 200_000;
  /** Bytes of encoded deltas waiting for the writer before pushes get {@code overloaded}. Default 256 MiB. */
  public long maxQueuedBytes = 256L << 20;
  /** Most deltas in one group commit. Default 20000. */
  public int maxGroupDeltas = 20_000;
  /**
   * Deltas of one connection's pushes that may wait for their answer before the server stops
   * reading from that connection, until half of them are answered: a client that sends faster than
   * the writer commits waits in TCP instead of filling the heap. Default 20000 (a full group).
   */
  public int maxUnansweredDeltas = 20_000;
  /**
   * Bytes of one connection's pushes (as sent) that may wait for their answer, the same way: large
   * values reach the heap long before 20,000 deltas do. Default 16 MiB.
   */
  public long maxUnansweredBytes = 16L << 20;
  /** How long tombstones are kept before they may be purged; 0 keeps them forever. Default 30 days. */
  public long tombstoneRetentionMs = 30L * 24 * 3600 * 1000;
  /** How often the writer takes a purge step per database (busy or idle). Default 60000. */
  public long purgeIntervalMs = 60_000;
  /** Most log entries one purge step visits per database; the next step goes on from there. Default 10000. */
  public int purgeBatchEntries = 10_000;

  // ---- replication ----

  /**
   * WebSocket URLs of peers this server dials, e.g. {@code ["ws://10.0.0.2:8080/sync"]} (env: comma
   * separated). Each link replicates both ways, so a star is every spoke naming the hub and a ring
   * every server naming the next. Needs {@link #clusterSecret}. Default none.
   */
  public List<String> peers = new ArrayList<>();

  /**
   * The secret every server of a cluster shares, at least 32 characters: links prove they know it
   * (it is never sent), and, unless {@link #jwtSecret} is set, the token signing key is derived
   * from it, so a token from one server works on all. Without it the server takes no peer links.
   */
  public String clusterSecret;

  /**
   * Servers (this one included) that must hold a push durably before it is acked; a push may ask
   * for its own {@code w}. If that many do not within {@link #quorumTimeoutMs}, the ack says
   * {@code quorum_timeout} per delta (the write is kept). Default 1.
   */
  public int writeQuorum = 1;

  /** How long a push waits for its write quorum. Default 5000. */
  public long quorumTimeoutMs = 5000;

  /** How often each link compares database digests with its peer and repairs what differs. 0: never. Default 30000. */
  public long digestIntervalMs = 30_000;

  /** How often a link pings its peer; one silent for three of these is dropped and dialed again. Default 5000. */
  public long peerPingIntervalMs = 5000;

  /** Longest wait between attempts to dial a peer (the wait doubles from 100 ms, with jitter). Default 5000. */
  public long peerReconnectMaxMs = 5000;

  // ---- fan-out ----

  /** Unsent bytes a socket may hold before it counts as busy. Default 64 KiB. */
  public int socketWriteQueueBytes = 64 * 1024;
  /** Live changes held per busy subscription before it falls back to the store. Default 1 MiB. */
  public int subscriberBufferBytes = 1 << 20;
  /** Most deltas per catch-up page. Default 2000. */
  public int catchUpPageDeltas = 2000;
  /**
   * Most bytes of deltas per catch-up page (a delta larger than that goes alone). Default 512 KiB;
   * at most {@link #maxMessageBytes} less {@link #PAGE_ENVELOPE_BYTES}, so a page's frame fits a message.
   */
  public int catchUpPageBytes = 512 * 1024;
  /** The most a {@code changes} frame adds around its deltas: type, sid (up to 64), db (up to 64), seq. */
  public static final int PAGE_ENVELOPE_BYTES = 512;
  /**
   * The largest {@link #maxMessageBytes}. A peer accepts messages of up to 64 MiB from another
   * server (a replicated page, a repaired document), which this keeps above any page or delta.
   */
  public static final int MAX_MESSAGE_BYTES_CAP = 16 << 20;
  /** Threads reading catch-up pages. Default 4. */
  public int catchUpThreads = 4;
  /**
   * Bytes of commits queued for one event loop that fell behind (busy with many subscribers);
   * past this its subscribers read the further commits from the store. Default 32 MiB.
   */
  public long loopInboxBytes = 32L << 20;

  /**
   * Seconds a connection may send nothing (no message, no ping) before it is closed, so a client
   * that vanished without closing does not hold its socket and subscriptions forever. The SDK
   * pings every 25 s. Default 300; 0 turns it off.
   */
  public int readIdleTimeoutSeconds = 300;

  /**
   * Per-message WebSocket compression (permessage-deflate). Default off: it costs CPU on every frame,
   * and Vert.x inflates a frame whole before {@link #maxMessageBytes} is checked against it.
   */
  public boolean compression = false;

  // ---- operations ----

  /** TLS: with a certificate and key, the server speaks only {@code https} and {@code wss}. */
  public Tls tls = new Tls();

  /** {@code GET /metrics} in Prometheus text format. */
  public Metrics metrics = new Metrics();

  /** The limits as announced to clients. */
  public Limits limits() {
    return new Limits(maxMessageBytes, maxDeltasPerPush, maxIdLength, maxColLength, maxAttrLength,
        maxValueBytes, maxClockSkewMs, maxSubscriptions);
  }

  public boolean durable() {
    return !"async".equals(durability);
  }

  /** Checks settings that cannot work, with a message naming the key. */
  public void validate() {
    // a key given as null in the config file; each has a default when left out
    java.util.Map<String, Object> required = new java.util.LinkedHashMap<>();
    required.put("host", host);
    required.put("data", data);
    required.put("durability", durability);
    required.put("jwtIssuer", jwtIssuer);
    required.put("databases", databases);
    required.put("users", users);
    required.put("peers", peers);
    required.put("tls", tls);
    required.put("metrics", metrics);
    required.forEach((key, value) -> {
      if (value == null) throw new ConfigException(key + ": may not be null (leave it out for the default)");
    });
    if (!durability.equals("sync") && !durability.equals("async")) {
      throw new ConfigException("durability: sync or async, not " + durability);
    }
    if (port < 0 || port > 65535) throw new ConfigException("port: 0 to 65535");
    if (eventLoops < 1) throw new ConfigException("eventLoops: at least 1");
    if (storeMinUtilization < 10 || storeMinUtilization > 90) throw new ConfigException("storeMinUtilization: 10 to 90 (percent)");
    if (maxMessageBytes < 1024) throw new ConfigException("maxMessageBytes: at least 1024");
    if (readIdleTimeoutSeconds < 0) throw new ConfigException("readIdleTimeoutSeconds: 0 (off) or more");
    if (maxDeltasPerPush < 1) throw new ConfigException("maxDeltasPerPush: at least 1");
    if (maxMessageBytes > MAX_MESSAGE_BYTES_CAP) {
      throw new ConfigException("maxMessageBytes: at most " + MAX_MESSAGE_BYTES_CAP + " (16 MiB)");
    }
    if (catchUpPageBytes < 1 || catchUpPageBytes > maxMessageBytes - PAGE_ENVELOPE_BYTES) {
      throw new ConfigException("catchUpPageBytes: 1 to maxMessageBytes - " + PAGE_ENVELOPE_BYTES
          + " (room for the changes frame around a page)");
    }
    if (loopInboxBytes < 1 << 20) throw new ConfigException("loopInboxBytes: at least 1048576 (1 MiB)");
    for (DatabaseSpec db : databases) {
      if (db.name == null || !dev.syncline.protocol.MessageCodec.isDatabaseName(db.name) || db.name.startsWith("$")) {
        throw new ConfigException("databases: " + db.name + " is not a database name (1 to 64 of [A-Za-z0-9_.-])");
      }
    }
    for (UserSpec u : users) {
      if (u.username == null || u.password == null) throw new ConfigException("users: each needs username and password");
    }
    if (jwtSecret != null && jwtSecret.length() < 32) throw new ConfigException("jwtSecret: at least 32 characters");
    if (tokenExpirySeconds < 60) throw new ConfigException("tokenExpirySeconds: at least 60");
    if (loginFailuresPerUser < 1 || loginFailuresPerAddress < 1) throw new ConfigException("loginFailuresPer*: at least 1");
    if (signupsPerAddressPerHour < 0) throw new ConfigException("signupsPerAddressPerHour: 0 (no budget) or more");
    if (lockoutBaseMs < 1 || lockoutMaxMs < lockoutBaseMs) throw new ConfigException("lockoutBaseMs/lockoutMaxMs: 1 ≤ base ≤ max");
    if (messagesPerSecond < 0) throw new ConfigException("messagesPerSecond: 0 (off) or more");
    if (maxUnansweredDeltas < 1) throw new ConfigException("maxUnansweredDeltas: at least 1");
    if (maxQueuedBytes < 1 << 20) throw new ConfigException("maxQueuedBytes: at least 1048576 (1 MiB)");
    if (maxUnansweredBytes < 1 << 20) throw new ConfigException("maxUnansweredBytes: at least 1048576 (1 MiB)");
    if (clusterSecret != null && clusterSecret.length() < 32) throw new ConfigException("clusterSecret: at least 32 characters");
    if (!peers.isEmpty() && clusterSecret == null) {
      throw new ConfigException("peers: needs clusterSecret, the secret every server of the cluster shares");
    }
    if (tls.enabled()) {
      if (tls.certFile == null || tls.keyFile == null) {
        throw new ConfigException("tls.certFile and tls.keyFile go together (both PEM files)");
      }
      readable("tls.certFile", tls.certFile);
      readable("tls.keyFile", tls.keyFile);
    }
    if (tls.trustFile != null) readable("tls.trustFile", tls.trustFile);
    if (staticDir != null && within(Path.of(data), Path.of(staticDir))) {
      // it would serve the store's files, the token signing key among them
      throw new ConfigException("staticDir: " + staticDir + " holds the data folder " + data + "; serve a folder of its own");
    }
    if (tls.keyFile != null) refuseServing(Path.of(tls.keyFile), "tls.keyFile");
    if (!List.of("local", "admin", "open").contains(metrics.access)) {
      throw new ConfigException("metrics.access: local, admin or open, not " + metrics.access);
    }
    for (String peer : peers) {
      java.net.URI uri;
      try {
        uri = new java.net.URI(peer);
      } catch (java.net.URISyntaxException e) {
        uri = null;
      }
      if (uri == null || !("ws".equals(uri.getScheme()) || "wss".equals(uri.getScheme())) || uri.getHost() == null) {
        throw new ConfigException("peers: " + peer + " is not a ws:// or wss:// URL such as ws://host:8080/sync");
      }
    }
    if (writeQuorum < 1 || writeQuorum > 64) throw new ConfigException("writeQuorum: 1 to 64");
    if (quorumTimeoutMs < 1) throw new ConfigException("quorumTimeoutMs: at least 1");
    if (digestIntervalMs < 0) throw new ConfigException("digestIntervalMs: 0 (never) or more");
    if (peerPingIntervalMs < 100) throw new ConfigException("peerPingIntervalMs: at least 100");
    if (peerReconnectMaxMs < 100) throw new ConfigException("peerReconnectMaxMs: at least 100");
    if (purgeBatchEntries < 1) throw new ConfigException("purgeBatchEntries: at least 1");
    // each of these, at 0 or below, makes a thread spin or a read never end rather than fail here
    if (purgeIntervalMs < 100) throw new ConfigException("purgeIntervalMs: at least 100");
    if (maxBadMessagesPerMinute < 1) throw new ConfigException("maxBadMessagesPerMinute: at least 1");
    if (storeCacheBytes < 0) throw new ConfigException("storeCacheBytes: 0 (a quarter of the heap) or more");
    if (tombstoneRetentionMs < 0) throw new ConfigException("tombstoneRetentionMs: 0 or more");
    if (catchUpPageDeltas < 1) throw new ConfigException("catchUpPageDeltas: at least 1");
    if (catchUpThreads < 1) throw new ConfigException("catchUpThreads: at least 1");
    if (maxGroupDeltas < 1) throw new ConfigException("maxGroupDeltas: at least 1");
    if (maxQueuedDeltas < 1) throw new ConfigException("maxQueuedDeltas: at least 1");
    if (socketWriteQueueBytes < 1024) throw new ConfigException("socketWriteQueueBytes: at least 1024");
    if (subscriberBufferBytes < 1024) throw new ConfigException("subscriberBufferBytes: at least 1024");
    if (maxSubscriptions < 1) throw new ConfigException("maxSubscriptions: at least 1");
    if (maxIdLength < 1 || maxColLength < 1 || maxAttrLength < 1 || maxValueBytes < 1) {
      throw new ConfigException("maxIdLength, maxColLength, maxAttrLength, maxValueBytes: at least 1");
    }
    // added to the wall clock: a huge value would overflow and refuse every write as from the future
    if (maxClockSkewMs < 1 || maxClockSkewMs > 366L * 24 * 3600 * 1000) throw new ConfigException("maxClockSkewMs: 1 to 31622400000 (a year)");
    if (serverId != null && !dev.syncline.protocol.Hlc.isValidOrigin(serverId)) {
      throw new ConfigException("serverId: 1 to 64 characters of [A-Za-z0-9_.:-]");
    }
  }

  /** Whether {@code inner} is {@code outer} or inside it, links followed as far as the folders exist. */
  /** Refuses a {@code staticDir} that holds {@code file} (a private key, the config file with its secrets). */
  public void refuseServing(Path file, String what) {
    if (staticDir != null && within(file, Path.of(staticDir))) {
      throw new ConfigException("staticDir: " + staticDir + " holds " + what + " " + file + "; serve a folder of its own");
    }
  }

  private static boolean within(Path inner, Path outer) {
    return real(inner).startsWith(real(outer));
  }

  /** {@code p} with the links of its longest existing part resolved (a data folder may not exist yet). */
  private static Path real(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    Path existing = abs;
    while (existing != null && !java.nio.file.Files.exists(existing)) existing = existing.getParent();
    if (existing == null) return abs;
    try {
      return existing.toRealPath().resolve(existing.relativize(abs));
    } catch (java.io.IOException e) {
      return abs;
    }
  }

  private static void readable(String key, String file) {
    if (!java.nio.file.Files.isReadable(java.nio.file.Path.of(file))) {
      throw new ConfigException(key + ": cannot read " + file);
    }
  }

  /** TLS settings (keys {@code tls.certFile}, env {@code SYNCLINE_TLS_CERT_FILE}, …). */
  public static final class Tls {
    /** PEM certificate chain, this server's certificate first. Set with {@link #keyFile} to serve https and wss. */
    public String certFile;
    /** PEM private key (PKCS#8 or PKCS#1) of {@link #certFile}. */
    public String keyFile;
    /**
     * PEM certificates to trust when dialing {@code wss://} peers, for a cluster with its own
     * certificate authority. Default: the JVM's trusted authorities.
     */
    public String trustFile;

    public boolean enabled() {
      return certFile != null || keyFile != null;
    }
  }

  /** Metrics settings (keys {@code metrics.enabled}, {@code metrics.access}). */
  public static final class Metrics {
    /** Serve {@code GET /metrics}. Default true. */
    public boolean enabled = true;
    /**
     * Who may read {@code /metrics}: {@code local} (default: requests from this machine's loopback
     * address only), {@code admin} (a bearer token of a user with role {@code admin}, from
     * anywhere), or {@code open} (anyone who can reach the port).
     */
    public String access = "local";
  }

  /** A database to ensure at start-up; see {@link #databases}. */
  public static final class DatabaseSpec {
    public String name;
    /** {@code {"read": [...], "create": [...], "update": [...], "destroy": [...]}}, or null. */
    public JsonNode policy;
    /** Per-collection policies that override the database's. */
    public Map<String, JsonNode> collections = new LinkedHashMap<>();

    public DatabaseSpec() {}

    /** A database given by name only. */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static DatabaseSpec named(String name) {
      DatabaseSpec d = new DatabaseSpec();
      d.name = name;
      return d;
    }

  }

  /** A user to ensure at start-up; see {@link #users}. */
  public static final class UserSpec {
    public String username;
    public String password;
    /** Enforced at every start when given; absent (null): none for a new user, and an existing one keeps what admins gave it. */
    public List<String> roles;

    public UserSpec() {}

    public UserSpec(String username, String password, List<String> roles) {
      this.username = username;
      this.password = password;
      this.roles = roles == null ? null : new ArrayList<>(roles);
    }
  }
}
