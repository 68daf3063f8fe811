package dev.syncline.server.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/** Sends requests on one client with up to {@code maxInFlight} unanswered, matching answers by rid. */
public final class Pipeline {
  private final WsClient client;
  private final Semaphore inFlight;
  private final Map<Long, CompletableFuture<JsonNode>> waiting = new ConcurrentHashMap<>();

  public Pipeline(WsClient client, int maxInFlight) {
    this.client = client;
    this.inFlight = new Semaphore(maxInFlight);
    client.listen(m -> {
      CompletableFuture<JsonNode> f = waiting.remove(m.path("rid").asLong(-1));
      if (f != null) {
        inFlight.release();
        f.complete(m);
      }
    });
  }

  /** Sends once a slot is free; the future completes with the answer. */
  public CompletableFuture<JsonNode> send(ObjectNode request) {
    try {
      if (!inFlight.tryAcquire(WsClient.TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("no answer to earlier requests within " + WsClient.TIMEOUT);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    CompletableFuture<JsonNode> f = new CompletableFuture<>();
    long rid = client.nextRid();
    request.put("rid", rid);
    waiting.put(rid, f);
    client.send(request);
    return f;
  }
}
