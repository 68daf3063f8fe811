package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.syncline.client.store.Cursor;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Limits;
import dev.syncline.protocol.Merge;
import dev.syncline.protocol.MessageCodec;
import dev.syncline.protocol.ServerMessage;
import dev.syncline.protocol.UserInfo;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One connection's protocol (PROTOCOL.md §7–§11): hello and welcome, sign-in, a subscription per
 * database, pushes and acks. A new Session is made for every socket that opens, so nothing of a
 * dropped connection (requests, subscriptions, pushes in flight) leaks into the next; unacked
 * deltas simply stay queued and are pushed again.
 *
 * <p>Pushes: at most one in flight per database, of at most {@code maxDeltasPerPush} deltas and
 * {@code maxMessageBytes}; the next goes when the ack comes, so edits made meanwhile are batched.
 * Runs on the client's event loop; messages dispatch through one table keyed by type.
 */
final class Session {
  /** Room kept in a push frame for everything but the deltas. */
  private static final int PUSH_ENVELOPE_BYTES = 512;
  /** Retry delay for an error that came without retryAfterMs. */
  private static final long DEFAULT_RETRY_MS = 1000;
  /** Retry delay for a renew the server failed (not refused) to answer. */
  private static final long RENEW_RETRY_MS = 60_000;
  private static final Set<String> TRANSIENT = Set.of("rate_limited", "overloaded");
  /** How long a hello refused for now (overloaded, rate_limited) is said again before the app is told. */
  static final long HELLO_QUIET_MS = 10_000;
  /** Longest wait between looks for a database the server says does not exist (it may be created again). */
  private static final long MISSING_RETRY_MAX_MS = 60_000;

  /** What the session needs of the client around it. */
  interface Hooks {
    /** {@code push.w}, or null for the server's writeQuorum. */
    Integer writeQuorum();

    Iterable<String> databases();

    void connected(JsonNode welcome, UserInfo user);

    /** A token answer (login, signup, renew), kept; {@code wiped}: the user changed and the client reconnects. */
    ClientCore.SignIn signedIn(TokenRecord record);

    /** The server refused the token this connection was signed in with. */
    void unauthenticated(String message);
  }

  private interface Handler {
    void handle(JsonNode m);
  }

  private static final class Request {
    final String kind;
    final String db;
    final Promise<TokenRecord> promise;

    Request(String kind, String db, Promise<TokenRecord> promise) {
      this.kind = kind;
      this.db = db;
      this.promise = promise;
    }
  }

  private static final class Sub {
    final String db;
    String sid;
    String epoch;
    /** After a reset: the whole database, collected until synced, so readers never see it empty. */
    Map<String, Delta> buffer;
    boolean live;

    Sub(String db) {
      this.db = db;
    }
  }

  private final ClientCore core;
  private final Transport transport;
  private final Hooks hooks;
  private final Vertx vertx;
  private final Map<String, Handler> handlers = new HashMap<>();
  private final Map<Long, Request> requests = new HashMap<>();
  private final Map<String, Sub> subs = new HashMap<>();
  private final Map<String, Sub> bySid = new HashMap<>();
  private final Map<String, List<Delta>> inflight = new HashMap<>();
  /** Databases whose pushes wait: a timer id, or -1 until the next connection. */
  private final Map<String, Long> blocked = new HashMap<>();
  /** Databases whose sub is answered not_found: the next look. */
  private final Map<String, Lookup> missing = new HashMap<>();
  /** Databases whose pushes are answered not_found: the last wait. */
  private final Map<String, Long> heldPushes = new HashMap<>();
  private final List<Long> timers = new ArrayList<>();
  private long rid;
  private long helloAt;
  /** When this socket's hellos began to be refused for now (overloaded, rate_limited); 0: not refused. */
  private long helloRefusedAt;
  private boolean helloRefusalTold;
  private boolean closed;
  private boolean welcomed;
  private TokenRecord token;
  /** login/signup requests not answered yet: pushes wait for them (see mayPush). */
  private int signingIn;
  private long renewTimer = -1;

  Session(ClientCore core, Transport transport, Hooks hooks, Vertx vertx) {
    this.core = core;
    this.transport = transport;
    this.hooks = hooks;
    this.vertx = vertx;
    handlers.put("welcome", this::onWelcome);
    handlers.put("subscribed", this::onSubscribed);
    handlers.put("reset", this::onReset);
    handlers.put("changes", m -> {
      ServerMessage.Changes changes;
      try {
        changes = MessageCodec.decodeChanges(m);
      } catch (IllegalArgumentException e) {
        // nothing of a frame no server sends is stored (the JS SDK drops such a frame too)
        core.emitError("protocol", "malformed changes: " + e.getMessage(), null, null, null, null, null);
        return;
      }
      onChanges(changes);
    });
    handlers.put("synced", this::onSynced);
    handlers.put("ack", this::onAck);
    handlers.put("error", this::onError);
    handlers.put("token", this::onToken);
    for (String quiet : List.of("pong", "ok", "result")) handlers.put(quiet, m -> requests.remove(m.path("rid").asLong()));
  }

  boolean welcomed() {
    return welcomed;
  }

  private long send(ObjectNode message) {
    if (closed) return -1;
    long id = ++rid;
    message.put("rid", id);
    transport.send(message.toString());
    return id;
  }

  private long later(long ms, Runnable r) {
    if (closed) return -1; // a listener closed the client, or logged out, in the middle of a handler
    long[] id = new long[1];
    id[0] = vertx.setTimer(Math.max(1, ms), t -> {
      timers.remove(id[0]);
      if (!closed) r.run();
    });
    timers.add(id[0]);
    return id[0];
  }

  private void cancel(long timer) {
    vertx.cancelTimer(timer);
    timers.remove((Long) timer);
  }

  /** The socket opened: say hello, with the stored token if there is one. */
  void open() {
    helloAt = core.wallClock.getAsLong();
    token = core.auth;
    ObjectNode hello = Json.MAPPER.createObjectNode().put("type", "hello").put("protocol", 1).put("clientId", core.clientId);
    if (token != null) hello.put("token", token.token());
    requests.put(send(hello), new Request("hello", null, null));
  }

  /** The socket is gone: forget everything of this connection; unanswered sign-ins fail with {@code offline}. */
  void close() {
    closed = true;
    timers.forEach(vertx::cancelTimer);
    timers.clear();
    for (Request r : requests.values()) {
      if (r.promise != null) r.promise.tryFail(SynclineException.offline("the connection closed before the server answered"));
    }
    requests.clear();
  }

  /** Sends {@code login} or {@code signup}; completes with the token record once the client has stored it. */
  Future<TokenRecord> signIn(String type, String username, String password) {
    if (closed || !welcomed) return Future.failedFuture(SynclineException.offline("not connected"));
    Promise<TokenRecord> p = Promise.promise();
    long id = send(Json.MAPPER.createObjectNode().put("type", type).put("username", username).put("password", password));
    signingIn++;
    requests.put(id, new Request(type, null, p));
    return p.future();
  }

  // renews the token once less than half of its lifetime is left
  private void armRenewal(Long delay) {
    if (renewTimer >= 0) vertx.cancelTimer(renewTimer);
    renewTimer = -1;
    if (token == null) return;
    long wait = delay != null ? delay : token.renewAt() - core.now();
    if (wait > 0) {
      renewTimer = later(wait, () -> armRenewal(null));
      return;
    }
    requests.put(send(Json.MAPPER.createObjectNode().put("type", "renew")), new Request("renew", null, null));
  }

  private void lostSignIn(String message) {
    token = null;
    armRenewal(null);
    hooks.unauthenticated(message);
  }

  // signed in on this connection: what was refused may be allowed now
  private void afterSignIn() {
    blocked.values().removeIf(t -> t < 0);
    for (String db : hooks.databases()) subscribe(db);
    flush();
    armRenewal(null);
  }

  /** One text frame from the server. */
  void receive(String text) {
    JsonNode m;
    try {
      m = Json.MAPPER.readTree(text);
    } catch (Exception e) {
      core.emitError("protocol", "unreadable server message: " + e.getMessage(), null, null, null, null, null);
      return;
    }
    Handler h = handlers.get(m.path("type").asText());
    if (h != null) h.handle(m); // a type from a later protocol version is passed over
  }

  /** Subscribes to a database (now if welcomed, else on welcome), from the stored cursor. */
  void subscribe(String db) {
    if (!welcomed || subs.containsKey(db)) return;
    Cursor cursor = core.cursors.get(db);
    subs.put(db, new Sub(db));
    ObjectNode sub = Json.MAPPER.createObjectNode().put("type", "sub").put("db", db);
    if (cursor != null && cursor.seq() > 0) sub.put("since", cursor.seq());
    if (cursor != null && cursor.epoch() != null) sub.put("epoch", cursor.epoch());
    requests.put(send(sub), new Request("sub", db, null));
  }

  /** Pushes every database that has pending writes. */
  void flush() {
    for (String db : core.replica.pendingDatabases()) push(db);
  }

  // the queue holds anonymous edits, or those of the user this connection is signed in as; and
  // no login is out: the server switches users when it takes one, before its answer is here
  private boolean mayPush() {
    return signingIn == 0 && (core.owner == null || (token != null && core.owner.equals(token.user().id())));
  }

  /**
   * Pushes the next batch of a database's pending writes, unless one is in flight or it waits.
   * What the server would refuse under its limits, a delta too big for any push included, is
   * settled here as refused (reverted, reported) and never sent, so it cannot hold up the rest.
   */
  void push(String db) {
    if (!welcomed || !mayPush() || inflight.containsKey(db) || blocked.containsKey(db)) return;
    Limits limits = core.limits;
    int room = limits.maxMessageBytes() - PUSH_ENVELOPE_BYTES - db.length() * 4;
    List<Delta> batch = new ArrayList<>();
    List<Delta> refused = new ArrayList<>();
    List<JsonNode> refusals = new ArrayList<>();
    int bytes = 0;
    for (Replica.Pending p : core.replica.pendingOf(db)) {
      Delta d = new Delta(p.col(), p.id(), p.attr(), p.value(), p.ts());
      SynclineException problem = Names.deltaProblem(d, limits);
      int size = problem != null ? 0 : Json.bytes(d).length + 1;
      if (problem == null && size > room) {
        problem = new SynclineException("too_large", "delta: " + size + " bytes do not fit in maxMessageBytes (" + limits.maxMessageBytes() + ")");
      }
      if (problem != null) {
        refused.add(d);
        refusals.add(Json.MAPPER.createObjectNode().put("error", problem.code()).put("message", problem.getMessage()));
        continue;
      }
      if (batch.size() >= limits.maxDeltasPerPush() || bytes + size > room) break;
      batch.add(d);
      bytes += size;
    }
    if (!refused.isEmpty()) core.settle(db, refused, refusals); // after the loop: it changes the queue
    if (batch.isEmpty()) return;
    inflight.put(db, batch);
    ObjectNode push = Json.MAPPER.createObjectNode().put("type", "push").put("db", db);
    Integer w = hooks.writeQuorum();
    if (w != null) push.put("w", w);
    var arr = push.putArray("deltas");
    for (Delta d : batch) arr.add(Json.MAPPER.valueToTree(d));
    requests.put(send(push), new Request("push", db, null));
  }

  private void block(String db, long ms) {
    if (ms == Long.MAX_VALUE) {
      blocked.put(db, -1L);
      return;
    }
    blocked.put(db, later(ms, () -> {
      blocked.remove(db);
      push(db);
    }));
  }

  // ---- handlers ----

  private void onWelcome(JsonNode m) {
    long now = core.wallClock.getAsLong();
    requests.remove(m.path("rid").asLong());
    core.limits = limitsOf(m.path("limits"));
    // the server's clock at the midpoint of the round trip
    core.offset = m.path("time").asLong() + (now - helloAt) / 2 - now;
    welcomed = true;
    transport.connected();
    UserInfo user = TokenRecord.user(m.get("user"));
    if (user == null) token = null; // not signed in after all: nothing to renew
    hooks.connected(m, user);
    if (closed) return; // a CONNECT, STATUS or AUTH listener closed the client or logged out
    for (String db : hooks.databases()) subscribe(db);
    flush();
    armRenewal(null);
  }

  private static Limits limitsOf(JsonNode l) {
    Limits d = Limits.defaults();
    return new Limits(l.path("maxMessageBytes").asInt(d.maxMessageBytes()), l.path("maxDeltasPerPush").asInt(d.maxDeltasPerPush()),
        l.path("maxIdLength").asInt(d.maxIdLength()), l.path("maxColLength").asInt(d.maxColLength()),
        l.path("maxAttrLength").asInt(d.maxAttrLength()), l.path("maxValueBytes").asInt(d.maxValueBytes()),
        l.path("maxClockSkewMs").asLong(d.maxClockSkewMs()), l.path("maxSubscriptions").asInt(d.maxSubscriptions()));
  }

  private void onSubscribed(JsonNode m) {
    Request req = requests.remove(m.path("rid").asLong());
    Sub sub = subs.get(req != null && req.db != null ? req.db : m.path("db").asText());
    if (sub == null) return;
    sub.sid = m.path("sid").asText();
    sub.epoch = m.path("epoch").asText(null);
    bySid.put(sub.sid, sub);
    // data held without a cursor (acked writes before the first synced): the sub named no epoch, so
    // the server cannot tell an old life's copy. Take the whole database in its place, as after a
    // reset, or the writes of a database destroyed and made again meanwhile would stay
    if (!core.cursors.containsKey(sub.db) && core.replica.hasConfirmed(sub.db)) sub.buffer = new LinkedHashMap<>();
    databaseFound(sub.db);
  }

  private void onReset(JsonNode m) {
    Sub sub = bySid.get(m.path("sid").asText());
    if (sub == null) return;
    sub.buffer = new LinkedHashMap<>();
    if (m.hasNonNull("epoch")) sub.epoch = m.get("epoch").asText();
    core.setUnsynced(sub.db); // until the reset's synced: the copy held now is about to be replaced
  }

  private void onChanges(ServerMessage.Changes m) {
    Sub sub = bySid.get(m.sid());
    if (sub == null) return;
    List<Delta> deltas = m.deltas();
    if (sub.buffer != null) {
      for (Delta d : deltas) {
        // PROTOCOL §5: every timestamp received moves the clock, also one only collected until
        // synced, or an edit made meanwhile is stamped below it and loses to it
        core.clock.receive(Hlc.parse(d.ts()));
        collect(sub, List.of(d));
        if (ClientCore.isMarked(m.valuesPurged(), d)) forgetHidden(sub, d); // in frame order, as applyChanges
      }
      return;
    }
    long seq = m.seq();
    long wipes = core.wipes();
    core.applyChanges(sub.db, deltas, m.valuesPurged(), new Cursor(seq, sub.epoch));
    // a listener that signed out dropped the database: it is not synced for whoever comes next
    if (sub.live && core.wipes() == wipes) core.setSynced(sub.db, seq);
  }

  private void onSynced(JsonNode m) {
    Sub sub = bySid.get(m.path("sid").asText());
    if (sub == null) return;
    Cursor cursor = new Cursor(m.path("seq").asLong(), sub.epoch);
    long wipes = core.wipes();
    if (sub.buffer != null) {
      core.replaceDatabase(sub.db, new ArrayList<>(sub.buffer.values()), cursor);
      sub.buffer = null;
    } else {
      core.saveCursor(sub.db, cursor);
    }
    sub.live = true;
    if (core.wipes() == wipes) core.setSynced(sub.db, cursor.seq());
  }

  /** Merges registers into a copy being collected (after a reset, or with no cursor), the newer winning. */
  private static void collect(Sub sub, List<Delta> deltas) {
    for (Delta d : deltas) {
      String k = d.col() + '\0' + d.id() + '\0' + d.attr();
      Delta cur = sub.buffer.get(k);
      if (cur == null || Merge.decide(cur.ts(), cur.value(), d.ts(), d.value()) == Merge.Outcome.APPLIED) sub.buffer.put(k, d);
    }
  }

  /** Drops from a copy being collected the values {@code deleted} hides: the server purged them. */
  private static void forgetHidden(Sub sub, Delta deleted) {
    String doc = deleted.col() + '\0' + deleted.id() + '\0';
    sub.buffer.entrySet().removeIf(e -> e.getKey().startsWith(doc) && !Delta.keptWithPurgedValues(e.getValue().attr())
        && e.getValue().ts().compareTo(deleted.ts()) <= 0);
  }

  private void onAck(JsonNode m) {
    Request req = requests.remove(m.path("rid").asLong());
    if (req == null || !req.kind.equals("push")) return;
    List<Delta> batch = inflight.remove(req.db);
    if (batch == null) return;
    heldPushes.remove(req.db);
    List<JsonNode> results = new ArrayList<>();
    m.path("results").forEach(results::add);
    // a copy being collected takes what the server just stored too: swapped in at synced, it would
    // otherwise put back what this ack replaced, when the ack comes before its changes
    Sub sub = subs.get(req.db);
    if (sub != null && sub.buffer != null) {
      List<Delta> stored = new ArrayList<>();
      for (int i = 0; i < batch.size() && i < results.size(); i++) {
        String r = results.get(i).isTextual() ? results.get(i).asText() : "";
        if (r.equals("applied") || r.equals("duplicate")) stored.add(batch.get(i));
      }
      collect(sub, stored);
    }
    ClientCore.Settled s = core.settle(req.db, batch, results);
    if (s.retry()) block(req.db, s.retryAfterMs() != null ? s.retryAfterMs() : DEFAULT_RETRY_MS);
    else push(req.db);
  }

  private void onToken(JsonNode m) {
    Request req = requests.remove(m.path("rid").asLong());
    if (req == null || !Set.of("login", "signup", "renew").contains(req.kind)) return;
    if (!req.kind.equals("renew")) signingIn--;
    UserInfo user = TokenRecord.user(m.get("user"));
    if (user == null || !m.path("token").isTextual()) {
      SynclineException e = new SynclineException("protocol", "token: the answer names no user");
      if (req.promise != null) req.promise.tryFail(e);
      else core.emitError(e.code(), e.getMessage(), null, null, null, null, null);
      return;
    }
    TokenRecord record = new TokenRecord(m.get("token").asText(), m.path("expiresAt").asLong(), core.now(), user);
    token = record;
    ClientCore.SignIn kept = hooks.signedIn(record);
    if (!closed && !kept.wiped()) afterSignIn();
    // a sign-in the app was told of survives a restart: its token is in the store
    if (req.promise != null) kept.stored().map(record).onComplete(req.promise);
  }

  private void onError(JsonNode m) {
    String code = m.path("code").asText("internal");
    String message = m.path("message").asText(code);
    Request req = m.hasNonNull("rid") ? requests.remove(m.get("rid").asLong()) : null;
    if (req != null) {
      requestFailed(req, code, message, retryAfterMs(m));
    } else if (m.hasNonNull("sid") && bySid.containsKey(m.get("sid").asText())) {
      subscriptionEnded(bySid.get(m.get("sid").asText()), code, message, retryAfterMs(m));
    } else if (code.equals("unauthenticated") && token != null) {
      lostSignIn(message); // the token expired, or its user was disabled or deleted
    } else if (!code.equals("rate_limited")) {
      core.emitError(code, message, null, null, null, null, null);
    } // rate_limited without a rid refused a ping: the next one goes anyway
  }

  private static Long retryAfterMs(JsonNode error) {
    return error.hasNonNull("retryAfterMs") ? error.get("retryAfterMs").asLong() : null;
  }

  private void requestFailed(Request req, String code, String message, Long retryAfterMs) {
    long retryMs = retryAfterMs != null ? retryAfterMs : DEFAULT_RETRY_MS;
    switch (req.kind) {
      case "hello" -> {
        if (code.equals("unauthenticated") && token != null) lostSignIn(message);
        else if (TRANSIENT.contains(code)) {
          helloRefused(code, message);
          later(retryMs, this::open);
        } else {
          core.emitError(code, message, null, null, null, null, null);
        }
      }
      case "login", "signup" -> {
        signingIn--;
        req.promise.tryFail(new SynclineException(code, message, retryAfterMs));
        flush(); // still who it was: what waited goes now
      }
      case "renew" -> {
        if (code.equals("unauthenticated")) {
          lostSignIn(message);
          return;
        }
        if (!TRANSIENT.contains(code)) core.emitError(code, message, null, null, null, null, null);
        armRenewal(TRANSIENT.contains(code) ? retryMs : RENEW_RETRY_MS);
      }
      case "sub" -> {
        subs.remove(req.db);
        if (TRANSIENT.contains(code)) {
          later(retryMs, () -> subscribe(req.db));
          return;
        }
        if (code.equals("not_found")) {
          databaseMissing(req.db, code, message);
          return;
        }
        if (code.equals("forbidden")) databaseFound(req.db); // it exists: held pushes may go
        core.emitError(code, message, req.db, null, null, null, null);
        // forbidden, too_large: again on the next connection (forbidden: also after a sign-in)
        if (!Set.of("forbidden", "too_large", "bad_request").contains(code)) later(retryMs, () -> subscribe(req.db));
      }
      case "push" -> {
        inflight.remove(req.db);
        if (TRANSIENT.contains(code)) {
          block(req.db, retryMs);
          return;
        }
        // refused whole: no such database (see pushMissing), or keep the deltas and try again on
        // the next connection, or (a server fault) sooner
        if (code.equals("not_found")) {
          pushMissing(req.db, code, message);
          return;
        }
        core.emitError(code, message, req.db, null, null, null, null);
        boolean fin = Set.of("forbidden", "bad_request", "too_large").contains(code);
        block(req.db, fin ? Long.MAX_VALUE : retryMs);
      }
      default -> core.emitError(code, message, null, null, null, null, null);
    }
  }

  /**
   * A hello refused for now is said again quietly: in a cluster, a sign-in made on another server
   * reaches this one within moments. Once that has lasted {@link #HELLO_QUIET_MS} (a peer down for
   * long), the app is told, once per socket, why the client stays offline.
   */
  private void helloRefused(String code, String message) {
    long now = core.wallClock.getAsLong();
    if (helloRefusedAt == 0) {
      helloRefusedAt = now;
    } else if (!helloRefusalTold && now - helloRefusedAt >= HELLO_QUIET_MS) {
      helloRefusalTold = true;
      core.emitError(code, message + " (the connection waits for it; it keeps asking)", null, null, null, null, null);
    }
  }

  // an unsolicited error about a subscription: it ended. not_found: the database was destroyed;
  // anything else (internal: a catch-up read failed) is taken again, when the server says
  private void subscriptionEnded(Sub sub, String code, String message, Long retryAfterMs) {
    bySid.remove(sub.sid);
    subs.remove(sub.db);
    if (code.equals("not_found")) {
      databaseMissing(sub.db, code, message);
      return;
    }
    core.setUnsynced(sub.db); // not subscribed: status.synced holds only live subscriptions
    core.emitError(code, message, sub.db, null, null, null, null);
    if (code.equals("forbidden")) return;
    later(retryAfterMs != null ? retryAfterMs : DEFAULT_RETRY_MS, () -> subscribe(sub.db));
  }

  /** Whether pushes to {@code db} wait because the server said it does not exist (for tests; event loop). */
  boolean holdingPushes(String db) {
    return heldPushes.containsKey(db);
  }

  /** The next look for a missing database: when, and its timer. */
  private record Lookup(long waitMs, long timer) {}

  /** The wait after {@code wait} (null: the first) while a database is missing: 1 s, doubling up to a minute. */
  private static long nextMissingWait(Long wait) {
    return wait == null ? DEFAULT_RETRY_MS : Math.min(wait * 2, MISSING_RETRY_MAX_MS);
  }

  // The database does not exist (or was destroyed): not synced any more. An admin may create it
  // again, and nothing tells a client so: look again, less and less often, one look pending at a
  // time (a sign-in subscribes at once too). Reported once.
  private void databaseMissing(String db, String code, String message) {
    Lookup prev = missing.get(db);
    if (prev == null && !heldPushes.containsKey(db)) core.emitError(code, message, db, null, null, null, null);
    core.setUnsynced(db);
    if (prev != null) cancel(prev.timer());
    long wait = nextMissingWait(prev == null ? null : prev.waitMs());
    missing.put(db, new Lookup(wait, later(wait, () -> subscribe(db))));
  }

  // A push found no such database: its edits are kept and pushed again once a subscription finds
  // it, or else after a wait that grows as the lookups' does (a database written to but not
  // subscribed this run has no lookups). Reported once.
  private void pushMissing(String db, String code, String message) {
    Long prev = heldPushes.get(db);
    if (prev == null && !missing.containsKey(db)) core.emitError(code, message, db, null, null, null, null);
    long wait = nextMissingWait(prev);
    heldPushes.put(db, wait);
    block(db, wait);
  }

  // The server answered a subscription as for a database that exists: held pushes go now.
  private void databaseFound(String db) {
    Lookup lookup = missing.remove(db);
    if (lookup != null) cancel(lookup.timer());
    if (heldPushes.remove(db) == null) return;
    Long timer = blocked.remove(db);
    if (timer != null && timer >= 0) cancel(timer);
    push(db);
  }
}
