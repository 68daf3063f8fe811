package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Json;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A real WebSocket client for tests. It records every message it receives; tests wait on them
 * with a deadline ({@link #await}, {@link #request}), never with sleeps.
 */
public final class WsClient implements AutoCloseable {
  /** How long any wait in a test may take before it fails. */
  public static final Duration TIMEOUT = Duration.ofSeconds(20);

  private static final Vertx VERTX = Vertx.vertx();

  private final WebSocketClient client;
  private final WebSocket ws;
  private final List<JsonNode> received = new ArrayList<>();
  private final AtomicLong rids = new AtomicLong();
  private volatile Consumer<JsonNode> listener;
  private volatile Short closeStatus;
  private boolean closedHere;
  private int readIndex;

  private WsClient(WebSocketClient client, WebSocket ws) {
    this.client = client;
    this.ws = ws;
    ws.textMessageHandler(this::onText);
    ws.closeHandler(v -> {
      closeStatus = ws.closeStatusCode() == null ? (short) 1006 : ws.closeStatusCode();
      synchronized (this) {
        notifyAll();
      }
    });
  }

  public static WsClient connect(int port) {
    return connect(port, new WebSocketClientOptions().setMaxMessageSize(64 << 20).setMaxFrameSize(64 << 20));
  }

  public static WsClient connect(int port, WebSocketClientOptions options) {
    return connect(options, new WebSocketConnectOptions().setHost("127.0.0.1").setPort(port).setURI("/sync"));
  }

  /** A connection made as {@code target} says (e.g. wss:// to a host name a certificate names). */
  public static WsClient connect(WebSocketClientOptions options, WebSocketConnectOptions target) {
    WebSocketClient client = VERTX.createWebSocketClient(options);
    WebSocket ws = client.connect(target).await();
    return new WsClient(client, ws);
  }

  /** A header of the server's handshake answer (e.g. the extensions it agreed to), or null. */
  public String handshakeHeader(String name) {
    return ws.headers() == null ? null : ws.headers().get(name);
  }

  public static Vertx vertx() {
    return VERTX;
  }

  private volatile String clientId;

  /** Says hello and returns the welcome. */
  public JsonNode hello(String clientId) {
    this.clientId = clientId;
    return request(obj("hello").put("protocol", 1).put("clientId", clientId));
  }

  /** The clientId this connection said hello with (null before): the ORIGIN its deltas must carry. */
  public String clientId() {
    return clientId;
  }

  /** Calls {@code l} for every message from now on (on the client's event loop), besides recording it. */
  public void listen(Consumer<JsonNode> l) {
    this.listener = l;
  }

  /**
   * Stops recording messages (for streams too large to keep); the listener still sees them, and
   * answers to {@link #request} are still kept.
   */
  public synchronized void stopRecording() {
    recording = false;
  }

  private volatile boolean recording = true;
  private final java.util.Set<Long> awaited = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /**
   * The first failure on the client's event loop (a frame that is not JSON, a listener's assertion):
   * thrown to the test by the next wait or by {@link #close}, since Vert.x would only log it.
   */
  private volatile Throwable failure;

  private void onText(String text) {
    JsonNode msg;
    try {
      msg = Json.MAPPER.readTree(text);
    } catch (Exception e) {
      failed(new AssertionError("server sent invalid JSON: " + text, e));
      return;
    }
    try {
      Consumer<JsonNode> l = listener;
      if (l != null) l.accept(msg);
    } catch (RuntimeException | AssertionError e) {
      failed(e);
    } finally {
      synchronized (this) {
        if (recording || awaited.remove(msg.path("rid").asLong(-1))) received.add(msg);
        notifyAll();
      }
    }
  }

  private synchronized void failed(Throwable e) {
    if (failure == null) failure = e;
    notifyAll();
  }

  private void throwFailure() {
    Throwable f = failure;
    if (f != null) throw new AssertionError("on the client's event loop: " + f, f);
  }

  public static ObjectNode obj(String type) {
    return Json.MAPPER.createObjectNode().put("type", type);
  }

  public void send(JsonNode message) {
    sendRaw(message.toString());
  }

  public void sendRaw(String text) {
    ws.writeTextMessage(text).await();
  }

  public void sendBinary(byte[] bytes) {
    ws.writeBinaryMessage(Buffer.buffer(bytes)).await();
  }

  /** Sends with a fresh rid and waits for the answer carrying it. */
  public JsonNode request(ObjectNode message) {
    long rid = rids.incrementAndGet() + 1_000_000;
    message.put("rid", rid);
    awaited.add(rid);
    send(message);
    return await(m -> m.path("rid").asLong(-1) == rid);
  }

  /**
   * Sends with a fresh rid and waits up to {@code within} for the answer; null when none came in
   * time or the connection closed first (for clients of servers a test is killing).
   */
  public JsonNode requestWithin(ObjectNode message, Duration within) {
    long rid = rids.incrementAndGet() + 1_000_000;
    message.put("rid", rid);
    awaited.add(rid);
    try {
      send(message);
    } catch (RuntimeException e) {
      return null;
    }
    long deadline = System.nanoTime() + within.toNanos();
    synchronized (this) {
      while (true) {
        for (JsonNode m : received) if (m.path("rid").asLong(-1) == rid) return m;
        long left = deadline - System.nanoTime();
        if (left <= 0 || closeStatus != null) return null;
        try {
          wait(Math.min(50, Math.max(1, left / 1_000_000)));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return null;
        }
      }
    }
  }

  /** A fresh request id. */
  public long nextRid() {
    return rids.incrementAndGet() + 1_000_000;
  }

  /** Sends with a fresh rid without waiting; returns the rid. */
  public long sendWithRid(ObjectNode message) {
    long rid = rids.incrementAndGet() + 1_000_000;
    message.put("rid", rid);
    send(message);
    return rid;
  }

  /** The first recorded message matching {@code p} (from any time), waiting until it arrives. */
  public synchronized JsonNode await(Predicate<JsonNode> p) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      for (JsonNode m : received) if (p.test(m)) return m;
      waitUntil(deadline, "a message matching the condition; got " + tail());
    }
  }

  /** The next message (in arrival order, after the last one taken this way) matching {@code p}. */
  public synchronized JsonNode next(Predicate<JsonNode> p) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (true) {
      while (readIndex < received.size()) {
        JsonNode m = received.get(readIndex++);
        if (p.test(m)) return m;
      }
      waitUntil(deadline, "the next matching message; got " + tail());
    }
  }

  public JsonNode next(String type) {
    return next(m -> type.equals(m.path("type").asText()));
  }

  /** Waits until {@code condition} holds (checked whenever a message arrives, and at least every 50 ms). */
  public synchronized void until(java.util.function.BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (!condition.getAsBoolean()) waitUntil(deadline, what);
  }

  public synchronized List<JsonNode> received() {
    return new ArrayList<>(received);
  }

  public synchronized List<JsonNode> receivedOfType(String type) {
    return received.stream().filter(m -> type.equals(m.path("type").asText())).toList();
  }

  /** Waits for the server to close the connection and returns the close code. */
  public synchronized short awaitClose() {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (closeStatus == null) waitUntil(deadline, "the connection to close");
    return closeStatus;
  }

  public boolean isClosed() {
    return closeStatus != null;
  }

  /** Stops reading from the socket (the server's writes back up), or resumes. */
  public void pause(boolean paused) {
    if (paused) ws.pause();
    else ws.resume();
  }

  private void waitUntil(long deadline, String what) {
    throwFailure();
    long left = deadline - System.nanoTime();
    if (left <= 0) throw new AssertionError("timed out waiting for " + what, new TimeoutException());
    try {
      wait(Math.min(50, Math.max(1, left / 1_000_000)));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private String tail() {
    int from = Math.max(0, received.size() - 3);
    return received.subList(from, received.size()).toString();
  }

  /** Closes the connection; closing it again (a test's own, then its try block's) does nothing. */
  @Override
  public void close() {
    if (closedHere) return;
    closedHere = true;
    if (closeStatus == null) {
      try {
        ws.close().await();
      } catch (RuntimeException e) {
        if (!ws.isClosed()) throw e; // else the server closed it just now, before its close frame was read
      }
    }
    client.close();
    throwFailure();
  }
}
