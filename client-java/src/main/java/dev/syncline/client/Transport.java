package dev.syncline.client;

import io.vertx.core.Vertx;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One WebSocket at a time to the server, opened again with capped exponential backoff and jitter
 * when it drops, and pinged so a dead link is noticed. Knows nothing of the protocol beyond the
 * ping; frames go up as text. Runs on the client's event loop.
 */
final class Transport {
  /** Close code of a link dropped by this side: no answer to a ping, or it did not open in time. */
  static final int NO_ANSWER = 4000;

  interface Handlers {
    /** A socket opened. */
    void open();

    void message(String text);

    /** The open socket is gone. */
    void closed(int code, String reason);

    void error(String message);
  }

  private final Vertx vertx;
  private final ClientOptions options;
  private final Handlers handlers;
  /** Kept for the client's life: Vert.x 5 closes clients that are garbage-collected. */
  private final WebSocketClient client;
  private WebSocket socket;
  private boolean running;
  private int attempt;
  private long retryTimer = -1;
  private long pingTimer = -1;
  private long lastHeard;
  /** When this side last wrote: the server closes a connection that sends nothing for a while. */
  private long lastSent;
  /** When the ping now unanswered went out, or {@link #NO_PING}; a nanoTime-based clock may be negative. */
  private long pingSentAt = NO_PING;
  private static final long NO_PING = Long.MIN_VALUE;
  /** The server welcomed the socket: before that only hello may be sent on it. */
  private boolean welcomed;
  /** The connection attempt under way (null: none): one given up on by stop() or a newer attempt is ignored when it ends. */
  private Object attempting;

  Transport(Vertx vertx, ClientOptions options, Handlers handlers) {
    this.vertx = vertx;
    this.options = options;
    this.handlers = handlers;
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxMessageSize(64 << 20).setMaxFrameSize(64 << 20)
        .setConnectTimeout((int) options.connectTimeoutMs()).setClosingTimeout(2));
  }

  boolean running() {
    return running;
  }

  /** Starts connecting now, and keeps reconnecting until {@link #stop()}. */
  void start() {
    if (running) {
      // waiting out a backoff: go now (offline(false) connects at once)
      if (socket == null && attempting == null) {
        cancelRetry();
        attempt = 0;
        connect();
      }
      return;
    }
    running = true;
    attempt = 0;
    connect();
  }

  /** Closes the socket and stops reconnecting. */
  void stop() {
    running = false;
    attempting = null;
    cancelRetry();
    drop(1000, "client stopped");
  }

  /** Drops the socket now and opens a new one at once (a change of user, say). */
  void reconnect(String reason) {
    if (!running) return;
    drop(1000, reason);
    cancelRetry();
    attempt = 0;
    connect();
  }

  /** The server welcomed this socket: the next drop starts the backoff from the beginning. */
  void connected() {
    attempt = 0;
    welcomed = true;
  }

  void send(String text) {
    if (socket == null) return;
    socket.writeTextMessage(text);
    lastSent = monotonicMs();
  }

  /** Closes the client for good (after {@link #stop()}). */
  void close() {
    client.close();
  }

  private void connect() {
    if (!running || socket != null) return;
    Object mine = new Object();
    attempting = mine;
    client.connect(new WebSocketConnectOptions().setAbsoluteURI(options.url()).setTimeout(options.connectTimeoutMs()))
        .onComplete(ar -> {
          boolean current = attempting == mine;
          if (current) attempting = null;
          if (ar.failed()) {
            if (!current) return; // stopped meanwhile (close, offline), or a newer attempt took over
            handlers.error("cannot connect to " + options.url() + ": " + ar.cause().getMessage());
            retry();
          } else if (!current || !running || socket != null) {
            ar.result().close();
          } else {
            opened(ar.result());
          }
        });
  }

  private void opened(WebSocket ws) {
    socket = ws;
    welcomed = false;
    lastHeard = monotonicMs();
    lastSent = lastHeard;
    pingSentAt = NO_PING;
    ws.textMessageHandler(text -> {
      lastHeard = monotonicMs();
      pingSentAt = NO_PING;
      if (socket == ws) handlers.message(text);
    });
    ws.closeHandler(v -> {
      if (socket != ws) return; // dropped by this side already
      socket = null;
      stopPinging();
      Short code = ws.closeStatusCode();
      handlers.closed(code == null ? 1006 : code, ws.closeReason() == null ? "" : ws.closeReason());
      retry();
    });
    ws.exceptionHandler(e -> { });
    pingTimer = vertx.setPeriodic(Math.max(100, Math.min(options.pingIntervalMs(), options.pingTimeoutMs()) / 2), id -> checkAlive());
    handlers.open();
  }

  /**
   * Pings a link idle either way: nothing heard (is the server still there?) or nothing sent (a
   * client that only listens would be closed by the server's readIdleTimeoutSeconds). Drops it
   * when a ping went unanswered (and nothing else came) for pingTimeoutMs.
   */
  private void checkAlive() {
    long now = monotonicMs();
    if (pingSentAt != NO_PING && now - pingSentAt > options.pingTimeoutMs()) {
      drop(NO_ANSWER, "no answer to a ping");
      retry();
    } else if (pingSentAt == NO_PING && (now - lastHeard >= options.pingIntervalMs() || now - lastSent >= options.pingIntervalMs())) {
      pingSentAt = now;
      // before the welcome (a hello answered overloaded is said again) a ping would end the
      // connection ("hello first"): none is sent, but a link that brings nothing still counts as dead
      if (welcomed) send("{\"type\":\"ping\"}");
    }
  }

  private void drop(int code, String reason) {
    WebSocket ws = socket;
    if (ws == null) return;
    socket = null;
    stopPinging();
    try {
      ws.close((short) code, reason);
    } catch (RuntimeException e) {
      // closing anyway
    }
    handlers.closed(code, reason);
  }

  private void stopPinging() {
    if (pingTimer >= 0) vertx.cancelTimer(pingTimer);
    pingTimer = -1;
  }

  private void retry() {
    if (!running || retryTimer >= 0) return;
    long cap = options.backoffMaxMs();
    long backoff = Math.min(cap, options.backoffInitialMs() << Math.min(attempt, 20));
    attempt++;
    long delay = Math.max(1, (long) (backoff * (0.5 + ThreadLocalRandom.current().nextDouble() / 2)));
    retryTimer = vertx.setTimer(delay, id -> {
      retryTimer = -1;
      connect();
    });
  }

  private void cancelRetry() {
    if (retryTimer >= 0) vertx.cancelTimer(retryTimer);
    retryTimer = -1;
  }

  /** Milliseconds on a clock that a change of the wall clock does not move: link timing only. */
  private static long monotonicMs() {
    return System.nanoTime() / 1_000_000;
  }
}
