package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Json;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client that keeps pushing random deltas to one server — sets, removals, destroys and
 * restores of a small set of documents, so writers collide — until stopped. A push that gets no
 * ack (the server was killed, the connection cut) is sent again, as any client would, until one
 * comes: so every delta it made ends up acknowledged, and the model holds exactly those.
 */
public final class RandomWriter implements AutoCloseable {
  private final ClusterNode node;
  private final String clientId;
  private final Random rnd;
  private final RegisterModel model;
  private final String db;
  private final int documents;
  private final Thread thread;
  private final AtomicLong acked = new AtomicLong();
  private volatile boolean stopping;
  private volatile Throwable failure;

  public RandomWriter(ClusterNode node, String clientId, long seed, RegisterModel model, String db, int documents) {
    this.node = node;
    this.clientId = clientId;
    this.rnd = new Random(seed);
    this.model = model;
    this.db = db;
    this.documents = documents;
    this.thread = new Thread(this::run, "writer-" + clientId);
    thread.setDaemon(true);
    thread.start();
  }

  public long acked() {
    return acked.get();
  }

  private void run() {
    HlcClock clock = new HlcClock(clientId);
    WsClient ws = null;
    ObjectNode pending = null;
    try {
      while (!stopping || pending != null) {
        if (ws == null || ws.isClosed()) {
          ws = connect(clock);
          if (ws == null) continue;
        }
        if (pending == null) pending = batch(clock);
        JsonNode ack = ws.requestWithin(pending.deepCopy(), Duration.ofSeconds(3));
        if (ack == null) {
          ws.close();
          ws = null;
          continue;
        }
        if (!"ack".equals(ack.path("type").asText())) {
          if ("overloaded".equals(ack.path("code").asText())) continue; // try again
          throw new AssertionError(clientId + " got " + ack);
        }
        ArrayNode deltas = (ArrayNode) pending.get("deltas");
        for (int i = 0; i < deltas.size(); i++) {
          JsonNode r = ack.get("results").get(i);
          if (r.isTextual()) model.acked(deltas.get(i));
          else if (!"clock_skew".equals(r.path("error").asText())) throw new AssertionError(clientId + " got " + r);
        }
        acked.addAndGet(deltas.size());
        pending = null;
      }
    } catch (Throwable t) {
      failure = t;
    } finally {
      if (ws != null) ws.close();
    }
  }

  private WsClient connect(HlcClock clock) {
    try {
      WsClient ws = WsClient.connect(node.port());
      JsonNode welcome = ws.hello(clientId);
      clock.receive(new Hlc(welcome.path("time").asLong(), 0, clientId));
      return ws;
    } catch (Exception | AssertionError e) { // Vert.x rethrows a refused connection as it is
      pause(100); // the server is down or starting: a client waits and tries again
      return null;
    }
  }

  private ObjectNode batch(HlcClock clock) {
    ObjectNode p = WsClient.obj("push").put("db", db);
    ArrayNode deltas = p.putArray("deltas");
    for (int i = 0, n = 1 + rnd.nextInt(5); i < n; i++) {
      String id = "d" + rnd.nextInt(documents);
      ObjectNode d = Json.MAPPER.createObjectNode().put("col", "c").put("id", id);
      int kind = rnd.nextInt(20);
      if (kind == 0) d.put("attr", "$deleted").put("value", true);
      else if (kind == 1) d.put("attr", "$deleted").put("value", false);
      else if (kind == 2) d.put("attr", "a" + rnd.nextInt(4)).putNull("value");
      else if (kind < 10) d.put("attr", "a" + rnd.nextInt(4)).put("value", rnd.nextInt(1000));
      else d.put("attr", "a" + rnd.nextInt(4)).put("value", clientId + "-" + rnd.nextInt(1000));
      deltas.add(d.put("ts", clock.tick().format()));
    }
    return p;
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Stops after the push in flight is acknowledged; throws what went wrong, if anything did. */
  @Override
  public void close() {
    stopping = true;
    try {
      thread.join(Duration.ofSeconds(60).toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) throw new AssertionError(clientId + " did not finish its last push");
    if (failure != null) throw new AssertionError(clientId + " failed", failure);
  }
}
