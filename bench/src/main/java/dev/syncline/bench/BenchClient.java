package dev.syncline.bench;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.IntFunction;

/**
 * The generator's Vert.x instance and its one WebSocket client. Connections are spread over the
 * event loops round-robin: connection {@code i} lives on loop {@code i % loops}, so fan-out
 * receive work is shared by every loop instead of piling onto one.
 *
 * <p>Only ever connects to 127.0.0.1: the benchmarks measure a server on this machine.
 */
final class BenchClient implements AutoCloseable {
  static final String HOST = "127.0.0.1";
  /** Largest message the client accepts: catch-up pages are far below this. */
  private static final int MAX_MESSAGE_BYTES = 64 << 20;

  private final Vertx vertx;
  /** Kept for the life of the run: Vert.x 5 closes clients that are garbage-collected. */
  private final WebSocketClient client;
  private final List<Context> loops = new ArrayList<>();
  private final int port;

  BenchClient(int port, int eventLoops) {
    this.port = port;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(eventLoops));
    this.client = vertx.createWebSocketClient(new WebSocketClientOptions()
        .setMaxMessageSize(MAX_MESSAGE_BYTES)
        .setMaxFrameSize(MAX_MESSAGE_BYTES)
        .setMaxConnections(1_000_000) // default 50 per endpoint would queue the rest
        .setConnectTimeout(10_000));
    // a context made outside Vert.x gets the next event loop; keep one per distinct loop
    Set<Thread> seen = new HashSet<>();
    for (int tries = 0; loops.size() < eventLoops && tries < eventLoops * 8; tries++) {
      Context ctx = vertx.getOrCreateContext();
      Promise<Thread> thread = Promise.promise();
      ctx.runOnContext(v -> thread.complete(Thread.currentThread()));
      if (seen.add(thread.future().await())) loops.add(ctx);
    }
  }

  Vertx vertx() {
    return vertx;
  }

  int eventLoops() {
    return loops.size();
  }

  /** Opens connection number {@code index} on event loop {@code index % loops}. */
  Future<BenchConnection> open(int index) {
    return open(index, port);
  }

  /** Opens connection number {@code index} to the server on {@code toPort} (for scenarios with several servers). */
  Future<BenchConnection> open(int index, int toPort) {
    Context ctx = loops.get(index % loops.size());
    Promise<BenchConnection> p = Promise.promise();
    ctx.runOnContext(v -> client
        .connect(new WebSocketConnectOptions().setHost(HOST).setPort(toPort).setURI("/sync"))
        .map(ws -> new BenchConnection(ws, ctx))
        .onComplete(p));
    return p.future();
  }

  /**
   * A connection of its own signed in as {@code admin}, for {@code server.stats}: the load's
   * connections stay anonymous, so they write what a plain client writes (no {@code $owner}).
   */
  BenchConnection openAdmin(int index, String adminPassword, Deadline deadline) throws TimeoutException {
    return openAdmin(index, adminPassword, deadline, port);
  }

  BenchConnection openAdmin(int index, String adminPassword, Deadline deadline, int toPort) throws TimeoutException {
    BenchConnection c = openHello(index, "bench-admin", deadline, toPort);
    if (adminPassword != null && !adminPassword.isEmpty()) {
      deadline.await(c.request("login", "\"username\":\"admin\",\"password\":" + dev.syncline.protocol.Json.MAPPER.valueToTree(adminPassword)), "login");
      // once before any warm-up, so that neither side meets server.stats' code for the first time
      // when a measured phase starts
      ServerStats.fetch(c, deadline);
    }
    return c;
  }

  /** Opens one connection and says hello. */
  BenchConnection openHello(int index, String clientId, Deadline deadline) throws TimeoutException {
    return openHello(index, clientId, deadline, port);
  }

  BenchConnection openHello(int index, String clientId, Deadline deadline, int toPort) throws TimeoutException {
    BenchConnection c = deadline.await(open(index, toPort), "connect");
    deadline.await(c.hello(clientId), "hello");
    return c;
  }

  /**
   * Opens {@code count} connections that each say hello and, when {@code db} is not null,
   * subscribe to it from 0 and wait for {@code synced}. Connection {@code i} gets the listener
   * {@code listenerFor.apply(i)}, set before anything is sent. At most {@code parallel} are being set up
   * at a time, so a thousand handshakes do not all land on the server in the same instant.
   */
  List<BenchConnection> openMany(int count, int parallel, String idPrefix, String db,
      IntFunction<BenchConnection.Listener> listenerFor, boolean deltaFields, Deadline deadline)
      throws TimeoutException {
    List<BenchConnection> out = new ArrayList<>(count);
    for (int from = 0; from < count; from += parallel) {
      int to = Math.min(count, from + parallel);
      List<Future<BenchConnection>> wave = new ArrayList<>();
      for (int i = from; i < to; i++) {
        String clientId = idPrefix + i;
        BenchConnection.Listener listener = listenerFor.apply(i);
        wave.add(open(i).compose(c -> {
          c.listen(listener, deltaFields);
          Future<?> ready = c.hello(clientId);
          if (db != null) ready = ready.compose(w -> c.subscribe(db, 0));
          return ready.map(x -> c);
        }));
      }
      for (Future<BenchConnection> f : wave) out.add(deadline.await(f, "open connection " + out.size()));
    }
    return out;
  }

  /** Closes every given connection, waiting a little for each close handshake. */
  static void closeAll(List<BenchConnection> connections) {
    List<Future<Void>> closing = new ArrayList<>();
    for (BenchConnection c : connections) closing.add(c.close());
    try {
      Future.join(closing).await(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      // the process exits right after; the server sees the sockets drop
    }
  }

  @Override
  public void close() {
    try {
      client.close().await(5, TimeUnit.SECONDS);
      vertx.close().await(5, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      // exiting anyway
    }
  }
}
