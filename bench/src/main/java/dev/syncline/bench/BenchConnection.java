package dev.syncline.bench;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketFrame;
import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * One WebSocket connection of the generator. Everything about it runs on its own event loop
 * ({@link #context()}); methods called from elsewhere hop there first.
 *
 * <p>Answers to requests sent with {@link #request} complete their future; every other message
 * (acks of pipelined pushes, changes, synced) goes to the {@link Listener} together with the
 * {@link System#nanoTime()} at which its frame arrived, taken before decoding so decoding is not
 * counted as latency.
 */
final class BenchConnection {
  /** Receives the messages no request is waiting for, on the connection's event loop. */
  @FunctionalInterface
  interface Listener {
    void onMessage(Incoming message, long receivedNanos);
  }

  private final WebSocket ws;
  private final Context context;
  private final Map<Long, Promise<Incoming>> pending = new HashMap<>();
  private Listener listener = (m, t) -> { };
  private boolean deltaFields;
  private Buffer partial;
  private long nextRequestRid = -1;
  private Promise<Incoming> synced;
  private Incoming subscribed;
  private volatile boolean closed;
  private boolean closing;
  private volatile String failure;

  BenchConnection(WebSocket ws, Context context) {
    this.ws = ws;
    this.context = context;
    ws.frameHandler(this::onFrame);
    ws.exceptionHandler(e -> fail("socket error: " + e));
    ws.closeHandler(v -> {
      closed = true;
      if (!closing) fail("closed by server (" + ws.closeStatusCode() + " " + ws.closeReason() + ")");
    });
  }

  Context context() {
    return context;
  }

  /** Sets the listener; {@code deltaFields} asks for col, id and value of each delta in changes. */
  void listen(Listener l, boolean withDeltaFields) {
    context.runOnContext(v -> {
      this.listener = l;
      this.deltaFields = withDeltaFields;
    });
  }

  /** Sends a message and waits for the answer carrying its rid ({@code rid} is added here). */
  Future<Incoming> request(String type, String fieldsJson) {
    Promise<Incoming> p = Promise.promise();
    context.runOnContext(v -> {
      if (closed) {
        p.fail(failure);
        return;
      }
      long rid = nextRequestRid--;
      pending.put(rid, p);
      String sep = fieldsJson.isEmpty() ? "" : ",";
      ws.writeTextMessage("{\"type\":\"" + type + "\",\"rid\":" + rid + sep + fieldsJson + "}");
    });
    return p.future();
  }

  Future<Incoming> hello(String clientId) {
    return request("hello", "\"protocol\":1,\"clientId\":\"" + clientId + "\"");
  }

  /** Subscribes to a whole database from {@code since}; completes with {@code synced}. */
  Future<Incoming> subscribe(String db, long since) {
    Promise<Incoming> done = Promise.promise();
    context.runOnContext(v -> {
      synced = done;
      String fields = "\"db\":\"" + db + "\"" + (since > 0 ? ",\"since\":" + since : "");
      request("sub", fields).onSuccess(s -> subscribed = s).onFailure(done::tryFail);
    });
    return done.future();
  }

  /** The {@code subscribed} answer of the last {@link #subscribe}, once it came. */
  Incoming subscribed() {
    return subscribed;
  }

  Future<Incoming> adminStats() {
    return request("admin", "\"op\":\"server.stats\"");
  }

  /** Sends a prepared message as it is; call on the connection's event loop. */
  void send(String json) {
    ws.writeTextMessage(json);
  }

  boolean isClosed() {
    return closed;
  }

  /** Why the connection ended, or null while it is fine. */
  String failure() {
    return failure;
  }

  Future<Void> close() {
    Promise<Void> p = Promise.promise();
    context.runOnContext(v -> {
      closing = true;
      if (closed) p.complete();
      else ws.close((short) 1000, "bench done").onComplete(ar -> p.complete());
    });
    return p.future();
  }

  // ---- receiving ----

  private void onFrame(WebSocketFrame frame) {
    long now = System.nanoTime();
    if (!(frame.isText() || frame.isBinary() || frame.isContinuation())) return;
    // the server sends each message as one final frame; fragments are joined just in case
    if (frame.isFinal() && partial == null) {
      deliver(frame.binaryData(), now);
      return;
    }
    if (partial == null) partial = Buffer.buffer();
    partial.appendBuffer(frame.binaryData());
    if (frame.isFinal()) {
      Buffer whole = partial;
      partial = null;
      deliver(whole, now);
    }
  }

  private void deliver(Buffer data, long receivedNanos) {
    Incoming m;
    try {
      m = Incoming.parse(data.getBytes(), deltaFields);
    } catch (IOException e) {
      fail("undecodable message: " + e.getMessage());
      return;
    }
    if (m.rid != Incoming.NO_RID) {
      Promise<Incoming> p = pending.remove(m.rid);
      if (p != null) {
        if (m.is("error")) p.fail(m.describeError());
        else p.complete(m);
        return;
      }
    }
    if (m.is("synced") && synced != null) {
      Promise<Incoming> s = synced;
      synced = null;
      listener.onMessage(m, receivedNanos);
      s.complete(m);
      return;
    }
    if (m.is("error") && m.rid == Incoming.NO_RID && synced != null) synced.tryFail(m.describeError());
    listener.onMessage(m, receivedNanos);
  }

  private void fail(String why) {
    // socket handlers run on this connection's event loop, like everything else here
    if (failure == null) failure = why;
    pending.values().forEach(p -> p.tryFail(why));
    pending.clear();
    if (synced != null) synced.tryFail(why);
  }
}
