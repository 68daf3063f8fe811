package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.client.store.LocalState;
import dev.syncline.client.store.LocalStore;
import dev.syncline.protocol.UserInfo;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.security.SecureRandom;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The Syncline client for JVM apps: a local replica that the app reads and writes at once, kept
 * in a durable store, and synced over a WebSocket whenever the server can be reached. Concurrent
 * edits merge per attribute by the protocol's rule, the same on every replica.
 *
 * <pre>{@code
 * SynclineClient client = SynclineClient.create(vertx, new ClientOptions()
 *     .setUrl("ws://localhost:8080/sync").setStoreDirectory(Path.of("data/my-app")));
 * client.ready().await();
 * Collection groceries = client.db("todo").col("groceries");
 * groceries.live(d -> !Boolean.TRUE.equals(d.getBoolean("completed")), docs -> render(docs));
 * groceries.doc().set(Map.of("title", "Buy milk", "completed", false));
 * client.on(ClientEvent.STATUS, s -> System.out.println(s.online() + ", " + s.pending() + " pending"));
 * }</pre>
 *
 * <h2>Threads</h2>
 * The client lives on one Vert.x event loop (the one it is created on, or a new one when created
 * on any other thread, a worker's included): everything that changes its state runs there, and
 * listeners are called there, each seeing events in the order they happened. Any thread may call
 * its methods: reads ({@link Document#get()}, {@link Collection#all()}) answer from immutable
 * documents (a read on another thread while a change is applied may see some of its documents
 * before others; listeners see each change whole), writes hop onto the event loop and return a {@link Future}. Plain Java code that
 * would rather wait uses {@link #blocking()}.
 */
public final class SynclineClient {
  private final Vertx vertx;
  private final boolean ownsVertx;
  private final Context context;
  private final ClientOptions options;
  private final Emitter events = new Emitter();
  private final ClientCore core;
  private final Transport transport;
  private final Map<String, Database> databases = new ConcurrentHashMap<>();
  private final Ulid ids;
  private final Future<Void> ready;
  private Session session;
  /** Sign-ins waiting for a connection (event loop only); failed when the client closes or goes offline. */
  private final Set<Promise<Session>> waitingForSession = new LinkedHashSet<>();
  private volatile boolean offline;
  private volatile boolean closed;
  /** The close in progress or done: every close() returns it. */
  private final AtomicReference<Future<Void>> closing = new AtomicReference<>();

  private SynclineClient(Vertx vertx, boolean ownsVertx, ClientOptions given) {
    // a copy of its own: the options are read again on every connect and on the store's worker
    ClientOptions options = new ClientOptions(given);
    options.validate();
    this.vertx = vertx;
    this.ownsVertx = ownsVertx;
    this.options = options;
    this.offline = options.offline();
    this.context = eventLoopContext(vertx);
    LocalStore store = options.storeDirectory() == null ? LocalStore.memory() : null;
    this.core = new ClientCore(context, store, options.wallClock(), events);
    this.ids = new Ulid(core::now);
    this.transport = new Transport(vertx, options, new Transport.Handlers() {
      @Override
      public void open() {
        opened();
      }

      @Override
      public void message(String text) {
        if (session != null) session.receive(text);
      }

      @Override
      public void closed(int code, String reason) {
        dropped(code, reason);
      }

      @Override
      public void error(String message) {
        core.emitError("network", message, null, null, null, null, null);
      }
    });
    this.ready = start(store);
  }

  /**
   * The caller's event loop (of this Vert.x), or a new one. Never a worker's or a virtual
   * thread's context: its tasks run one at a time, so an app blocking there on the client
   * ({@link #blocking()}) would wait for work queued behind itself.
   */
  private static Context eventLoopContext(Vertx vertx) {
    Context current = Vertx.currentContext();
    if (current != null && current.isEventLoopContext() && current.owner() == vertx) return current;
    return ((VertxInternal) vertx).createEventLoopContext();
  }

  /**
   * A client on a Vert.x instance of its own, closed with the client.
   *
   * @throws IllegalArgumentException for options that cannot work; nothing is left running then
   */
  public static SynclineClient create(ClientOptions options) {
    options.validate(); // before a Vert.x exists
    Vertx own = Vertx.vertx();
    try {
      return new SynclineClient(own, true, options);
    } catch (Throwable t) {
      own.close(); // nobody else holds it: it would run forever
      throw t;
    }
  }

  /**
   * A client on the app's Vert.x.
   *
   * @throws IllegalArgumentException for options that cannot work
   */
  public static SynclineClient create(Vertx vertx, ClientOptions options) {
    return new SynclineClient(vertx, false, options);
  }

  // opens and loads the store off the event loop, then starts connecting
  private Future<Void> start(LocalStore memory) {
    Future<ClientCore> loaded = context.executeBlocking(() -> {
      LocalStore store = memory != null ? memory : LocalStore.xodus(options.storeDirectory());
      try {
        String fresh = randomClientId();
        store.claimClientId(options.clientId(), fresh);
        return new Loaded(store, store.load());
      } catch (RuntimeException e) {
        store.close();
        throw e;
      }
    }, false).compose(l -> { // unordered: never behind the app's own blocking work on this context
      Promise<ClientCore> p = Promise.promise();
      context.runOnContext(v -> {
        core.useStore(l.store());
        try {
          core.load(l.state());
        } catch (RuntimeException e) { // a stored state this version cannot read: fail ready(), free the store
          context.executeBlocking(() -> {
            l.store().close();
            return null;
          }, false).onComplete(x -> p.fail(e));
          return;
        }
        core.onPending = db -> {
          if (session != null) session.push(db);
        };
        if (!offline && !closed) transport.start();
        p.complete(core);
      });
      return p.future();
    });
    // listeners hear of it too, as of every other store failure
    loaded.onFailure(e -> onContext(() -> core.emitError("storage", "could not load the store: " + e.getMessage(), null, null, null, null, null)));
    return loaded.mapEmpty();
  }

  private record Loaded(LocalStore store, LocalState state) {}

  private static String randomClientId() {
    byte[] b = new byte[15];
    new SecureRandom().nextBytes(b);
    return java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(b).replace('-', '.');
  }

  /** Completes once the store is loaded: before, reads see nothing, and writes wait for it. */
  public Future<Void> ready() {
    return ready;
  }

  /** The database {@code name}; on first use the client subscribes to all of it, now or once connected. */
  public Database db(String name) {
    Database known = databases.get(name);
    if (known != null) return known;
    String problem = Names.dbProblem(name);
    if (problem != null) throw new SynclineException("bad_request", problem);
    Database made = new Database(this, name);
    known = databases.putIfAbsent(name, made);
    if (known != null) return known; // another thread opened it first, and subscribes
    // In the map before the hop, so on the event loop either the hop runs after a welcome and
    // subscribes, or a welcome comes later and subscribes to it with every other database.
    onContext(() -> {
      if (session != null) session.subscribe(name);
    });
    return made;
  }

  /** Listens to an event (handlers run on the client's event loop); returns what stops it. */
  public <T> Runnable on(ClientEvent<T> event, Handler<T> handler) {
    return events.on(event, handler);
  }

  /** {@code online}, {@code pending}, {@code synced}; a new object whenever something changes. */
  public ClientEvent.Status status() {
    return core.status();
  }

  /** This install's id, the ORIGIN of its timestamps, kept in the store; null until ready. */
  public String clientId() {
    return core.clientId;
  }

  /** The signed-in user, or null. */
  public UserInfo user() {
    return core.user();
  }

  /**
   * {@code true} drops the connection and stays offline; {@code false} connects at once. Editing
   * works either way; edits are pushed once online.
   */
  public void offline(boolean flag) {
    offline = flag;
    if (closed) return; // nothing to start or stop, and a closed client's own Vert.x runs nothing
    ready.onSuccess(v -> onContext(() -> {
      // the latest call wins, whatever order calls from several threads arrive here in
      if (closed) return;
      if (offline) {
        transport.stop();
        failWaitingForSession("the client was set offline");
      } else {
        transport.start();
      }
    }));
  }

  /**
   * Signs in on the live connection (waiting up to connectTimeoutMs for one). Completes with the
   * user; fails with a {@link SynclineException} whose code is the server's ({@code
   * unauthenticated}, {@code rate_limited} with {@code retryAfterMs}, …) or {@code offline}. It
   * completes once the token is in the store (else it fails with {@code storage}), and the token is
   * sent on every reconnect; data held for another user is dropped first, as by {@link #logout()}.
   */
  public Future<UserInfo> login(String username, String password) {
    return signIn("login", username, password);
  }

  /** Creates the user and signs in, like {@link #login}; {@code forbidden} when the server allows no sign-up. */
  public Future<UserInfo> signup(String username, String password) {
    return signIn("signup", username, password);
  }

  private Future<UserInfo> signIn(String type, String username, String password) {
    // the server's limits (PROTOCOL.md §11), in characters: refused here, not sent
    if (username == null || username.isEmpty() || username.codePointCount(0, username.length()) > 256) {
      return Future.failedFuture(new SynclineException("bad_request", "username: 1 to 256 characters"));
    }
    if (password == null || password.isEmpty() || password.codePointCount(0, password.length()) > 1024) {
      return Future.failedFuture(new SynclineException("bad_request", "password: 1 to 1024 characters"));
    }
    return ready.compose(v -> onContextFuture(() -> whenOnline()))
        .compose(s -> onContextFuture(() -> s.signIn(type, username, password)))
        .map(TokenRecord::user);
  }

  /**
   * Signs out: forgets the token, drops the local copy of every database AND the unsent edits
   * (they were the signed-out user's), and reconnects anonymously. Completes once stored; fails
   * with {@code offline}, changing nothing, once the client is closed.
   */
  public Future<Void> logout() {
    if (closed) return Future.failedFuture(closedError());
    return ready.compose(v -> onContextFuture(() -> {
      if (closed) return Future.failedFuture(closedError()); // its store is closed, or closing
      Future<Void> stored = core.signOut(true);
      reconnect("signed out");
      return stored;
    }));
  }

  /** A blocking view of this client, for plain Java callers. */
  public BlockingClient blocking() {
    return new BlockingClient(this);
  }

  /**
   * Stops reconnecting and closes the socket and the store (which keeps everything: unsent edits
   * are pushed by the next client on it). Also closes the Vert.x instance, if the client made it.
   * Sign-ins waiting for a connection fail with {@code offline}. Every call returns the same close,
   * so a second one completes only once the store is closed.
   */
  public Future<Void> close() {
    Promise<Void> done = Promise.promise();
    if (!closing.compareAndSet(null, done.future())) return closing.get(); // the close already running
    closed = true;
    ready.transform(ar -> onContextFuture(() -> {
      transport.stop();
      transport.close();
      if (session != null) session.close();
      session = null;
      failWaitingForSession("the client closed");
      return context.<Void>executeBlocking(() -> {
        if (core.store != null) core.store.close();
        return null;
      }, false);
    })).onComplete(ar -> {
      if (ownsVertx) vertx.close().onComplete(x -> done.tryComplete());
      else done.tryComplete();
    });
    return done.future();
  }

  // ---- connection ----

  private void opened() {
    if (session != null) session.close();
    session = new Session(core, transport, new Session.Hooks() {
      @Override
      public Integer writeQuorum() {
        return options.writeQuorum();
      }

      @Override
      public Iterable<String> databases() {
        return databases.keySet();
      }

      @Override
      public void connected(JsonNode welcome, UserInfo user) {
        core.updateUser(user);
        core.setOnline(true);
        events.emit(ClientEvent.CONNECT, new ClientEvent.Connected(welcome.path("serverId").asText(),
            welcome.path("time").asLong(), user));
        // a listener may have logged out (reconnecting: no session now): the waiting sign-ins wait for the next
        if (session != null && session.welcomed()) for (Promise<Session> p : List.copyOf(waitingForSession)) p.tryComplete(session);
      }

      @Override
      public ClientCore.SignIn signedIn(TokenRecord record) {
        ClientCore.SignIn kept = core.signIn(record);
        // another user's data was dropped: start over on a new connection, as the new user
        if (kept.wiped()) reconnect("signed in as another user");
        return kept;
      }

      @Override
      public void unauthenticated(String message) {
        core.signOut(false);
        core.emitError("unauthenticated", message, null, null, null, null, null);
        reconnect("unauthenticated");
      }
    }, vertx);
    session.open();
  }

  private void dropped(int code, String reason) {
    boolean wasOnline = session != null && session.welcomed();
    if (session != null) session.close();
    session = null;
    core.setOnline(false);
    if (wasOnline) events.emit(ClientEvent.DISCONNECT, new ClientEvent.Disconnected(code, reason));
  }

  private void reconnect(String reason) {
    if (!closed && !offline && core.loaded) transport.reconnect(reason);
  }

  // the welcomed session: now, or once connected (up to connectTimeoutMs), else offline
  private Future<Session> whenOnline() {
    if (session != null && session.welcomed()) return Future.succeededFuture(session);
    if (closed || offline) return Future.failedFuture(SynclineException.offline("the client is offline"));
    Promise<Session> p = Promise.promise();
    waitingForSession.add(p);
    long timer = vertx.setTimer(options.connectTimeoutMs(),
        id -> p.tryFail(SynclineException.offline("could not connect within " + options.connectTimeoutMs() + " ms")));
    return p.future().onComplete(ar -> {
      vertx.cancelTimer(timer);
      waitingForSession.remove(p);
    });
  }

  private void failWaitingForSession(String why) {
    for (Promise<Session> p : List.copyOf(waitingForSession)) p.tryFail(SynclineException.offline(why));
  }

  // ---- for the handles ----

  /** The session of the open connection, or null; on the event loop (tests hand it frames). */
  Session session() {
    return session;
  }

  ClientCore core() {
    return core;
  }

  String newId() {
    return ids.next();
  }

  Future<Void> write(String db, String col, String id, Map<String, JsonNode> attrs) {
    if (closed) return Future.failedFuture(closedError());
    db(db); // writing to a database subscribes to it, so its state comes back
    if (core.loaded && Vertx.currentContext() == context) return core.write(db, col, id, attrs);
    // closed again on the loop: a close() from another thread may have run since the check above
    return ready.compose(v -> onContextFuture(() -> closed ? Future.failedFuture(closedError()) : core.write(db, col, id, attrs)));
  }

  /** How long a sign-in waits for a connection ({@link ClientOptions#setConnectTimeoutMs}). */
  long connectTimeoutMs() {
    return options.connectTimeoutMs();
  }

  private static SynclineException closedError() {
    return SynclineException.offline("the client is closed");
  }

  /**
   * Runs {@code r} on the client's event loop: at once if already there. False, and {@code r}
   * never runs, once the client is closed and its own Vert.x with it (nothing runs there any more).
   */
  boolean onContext(Runnable r) {
    if (Vertx.currentContext() == context) {
      r.run();
      return true;
    }
    try {
      context.runOnContext(v -> r.run());
      return true;
    } catch (RejectedExecutionException e) {
      if (!closed) throw e;
      return false;
    }
  }

  private <T> Future<T> onContextFuture(java.util.function.Supplier<Future<T>> work) {
    Promise<T> p = Promise.promise();
    boolean runs = onContext(() -> {
      try {
        work.get().onComplete(p);
      } catch (VirtualMachineError fatal) {
        p.tryFail(fatal);
        throw fatal;
      } catch (Throwable t) {
        p.tryFail(t); // the caller learns of it; the event loop goes on
      }
    });
    if (!runs) p.tryFail(closedError());
    return p.future();
  }

  Vertx vertx() {
    return vertx;
  }
}
