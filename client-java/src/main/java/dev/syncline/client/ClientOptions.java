package dev.syncline.client;

import dev.syncline.protocol.Hlc;
import java.nio.file.Path;
import java.util.function.LongSupplier;

/**
 * How a {@link SynclineClient} connects and where it keeps its data. Setters chain:
 *
 * <pre>{@code new ClientOptions().setUrl("ws://localhost:8080/sync").setStoreDirectory(Path.of("data/app"))}</pre>
 *
 * A client takes a copy when it is made: changing the options afterwards changes nothing of it.
 */
public final class ClientOptions {
  private String url;
  private Path storeDirectory;
  private String clientId;
  private Integer writeQuorum;
  private boolean offline;
  private long backoffInitialMs = 250;
  private long backoffMaxMs = 10_000;
  private long pingIntervalMs = 25_000;
  private long pingTimeoutMs = 10_000;
  private long connectTimeoutMs = 10_000;
  private LongSupplier wallClock = System::currentTimeMillis;

  public ClientOptions() {}

  /** A copy: a client keeps one of its own, so options changed or reused after it was made do not reach it. */
  ClientOptions(ClientOptions o) {
    url = o.url;
    storeDirectory = o.storeDirectory;
    clientId = o.clientId;
    writeQuorum = o.writeQuorum;
    offline = o.offline;
    backoffInitialMs = o.backoffInitialMs;
    backoffMaxMs = o.backoffMaxMs;
    pingIntervalMs = o.pingIntervalMs;
    pingTimeoutMs = o.pingTimeoutMs;
    connectTimeoutMs = o.connectTimeoutMs;
    wallClock = o.wallClock;
  }

  /** The server's WebSocket URL, {@code ws://host:port/sync} or {@code wss://…}. Required. */
  public ClientOptions setUrl(String url) {
    this.url = url;
    return this;
  }

  /**
   * Where the replica, the unsent edits, the cursors, the clientId and the sign-in are kept
   * (a Xodus folder, created when absent; one client at a time). Null (the default): in memory,
   * gone when the client closes.
   */
  public ClientOptions setStoreDirectory(Path dir) {
    this.storeDirectory = dir;
    return this;
  }

  /** This install's ORIGIN in timestamps (1 to 64 of {@code [A-Za-z0-9_.:-]}). Default: the stored one, else a new one. */
  public ClientOptions setClientId(String clientId) {
    this.clientId = clientId;
    return this;
  }

  /** Servers that must hold each push durably before its ack, 1 to 64 ({@code push.w}). Default: the server's. */
  public ClientOptions setWriteQuorum(Integer w) {
    this.writeQuorum = w;
    return this;
  }

  /** Start without connecting (see {@link SynclineClient#offline}). Default false. */
  public ClientOptions setOffline(boolean offline) {
    this.offline = offline;
    return this;
  }

  /** First reconnect delay, doubling (with jitter) up to {@link #setBackoffMaxMs}; at least 1. Default 250. */
  public ClientOptions setBackoffInitialMs(long ms) {
    this.backoffInitialMs = ms;
    return this;
  }

  /** Longest reconnect delay; at least the first. Default 10000. */
  public ClientOptions setBackoffMaxMs(long ms) {
    this.backoffMaxMs = ms;
    return this;
  }

  /** How often an idle connection is pinged; at least 1. Default 25000. */
  public ClientOptions setPingIntervalMs(long ms) {
    this.pingIntervalMs = ms;
    return this;
  }

  /** How long a ping may go unanswered (with nothing else heard) before the link counts as dead; at least 1. Default 10000. */
  public ClientOptions setPingTimeoutMs(long ms) {
    this.pingTimeoutMs = ms;
    return this;
  }

  /** How long a connection may take to open, 1 to {@code Integer.MAX_VALUE}; {@code login} waits as long for one. Default 10000. */
  public ClientOptions setConnectTimeoutMs(long ms) {
    this.connectTimeoutMs = ms;
    return this;
  }

  /** The wall clock (tests skew it). Default {@link System#currentTimeMillis()}. */
  public ClientOptions setWallClock(LongSupplier clock) {
    this.wallClock = clock;
    return this;
  }

  /**
   * Refuses settings that cannot work, with a message naming the setting. Called when a client is
   * made, not by the setters, so the order of the setters does not matter.
   */
  void validate() {
    if (url == null || !url.matches("wss?://.+")) throw new IllegalArgumentException("url: a ws:// or wss:// URL");
    try {
      new io.vertx.core.http.WebSocketConnectOptions().setAbsoluteURI(url); // what the transport will do with it
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("url: not a URL the WebSocket client takes (" + e.getMessage() + ")");
    }
    if (clientId != null && !Hlc.isValidOrigin(clientId)) throw new IllegalArgumentException("clientId: 1 to 64 of [A-Za-z0-9_.:-]");
    if (writeQuorum != null && (writeQuorum < 1 || writeQuorum > 64)) throw new IllegalArgumentException("writeQuorum: 1 to 64");
    if (backoffInitialMs < 1) throw new IllegalArgumentException("backoffInitialMs: at least 1, not " + backoffInitialMs);
    if (backoffMaxMs < backoffInitialMs) {
      throw new IllegalArgumentException("backoffMaxMs: at least backoffInitialMs (" + backoffInitialMs + "), not " + backoffMaxMs);
    }
    if (pingIntervalMs < 1) throw new IllegalArgumentException("pingIntervalMs: at least 1, not " + pingIntervalMs);
    if (pingTimeoutMs < 1) throw new IllegalArgumentException("pingTimeoutMs: at least 1, not " + pingTimeoutMs);
    // the WebSocket client takes it as an int
    if (connectTimeoutMs < 1 || connectTimeoutMs > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("connectTimeoutMs: 1 to " + Integer.MAX_VALUE + ", not " + connectTimeoutMs);
    }
    if (wallClock == null) throw new IllegalArgumentException("wallClock: required");
  }

  public String url() {
    return url;
  }

  public Path storeDirectory() {
    return storeDirectory;
  }

  public String clientId() {
    return clientId;
  }

  public Integer writeQuorum() {
    return writeQuorum;
  }

  public boolean offline() {
    return offline;
  }

  public long backoffInitialMs() {
    return backoffInitialMs;
  }

  public long backoffMaxMs() {
    return backoffMaxMs;
  }

  public long pingIntervalMs() {
    return pingIntervalMs;
  }

  public long pingTimeoutMs() {
    return pingTimeoutMs;
  }

  public long connectTimeoutMs() {
    return connectTimeoutMs;
  }

  public LongSupplier wallClock() {
    return wallClock;
  }
}
