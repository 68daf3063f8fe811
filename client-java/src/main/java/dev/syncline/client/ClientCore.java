package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.client.store.Cursor;
import dev.syncline.client.store.LocalState;
import dev.syncline.client.store.LocalStore;
import dev.syncline.client.store.StoreWrite;
import dev.syncline.client.store.StoredRegister;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Limits;
import dev.syncline.protocol.Merge;
import dev.syncline.protocol.Register;
import dev.syncline.protocol.UserInfo;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The client's local state and everything that changes it: the replica, the clock, the cursors,
 * the store, the sign-in, and the events that report changes. Local edits and frames from the
 * server (through the {@link Session}) both come through here, so each kind of change is applied,
 * persisted and reported in one place. Runs on the client's event loop only.
 *
 * <p>How a change flows: the replica changes (in memory) → {@link Replica#refresh()} says which
 * documents now look different → events and live queries fire at once → the store write is
 * queued (writes are applied in order, each durable before its future completes).
 */
final class ClientCore {
  /** Per-delta error codes after which the delta is dropped; any other keeps it for a retry. */
  private static final Set<String> FINAL = Set.of("bad_request", "forbidden", "too_large", "not_found", "unauthenticated",
      "unsupported_protocol");

  final Context context;
  /** Set once, when the store has been opened (off the event loop). */
  LocalStore store;
  final LongSupplier wallClock;
  final Emitter events;
  final Replica replica = new Replica();
  final LiveQueries live;
  final Map<String, Cursor> cursors = new HashMap<>();
  /** Called when a database has a new pending write to push. */
  Consumer<String> onPending = db -> { };
  volatile String clientId;
  HlcClock clock;
  volatile Limits limits = Limits.defaults();
  volatile TokenRecord auth;
  /** Whose data the replica and queue hold: a user id, or null when made anonymously. */
  String owner;
  /** Counts the times the user's data was dropped (see {@link #persistUnlessWiped}). */
  private long wipes;
  /** Server clock minus wall clock, from welcome.time and clock_skew. */
  volatile long offset;
  volatile boolean loaded;
  private boolean online;
  private Map<String, Long> synced = Map.of();
  private volatile ClientEvent.Status status = new ClientEvent.Status(false, 0, Map.of());
  /** Deltas received from the server since this client started (tests: a resume pulls only what is new). */
  volatile long receivedDeltas;

  ClientCore(Context context, LocalStore store, LongSupplier wallClock, Emitter events) {
    this.context = context;
    this.store = store;
    this.wallClock = wallClock;
    this.events = events;
    this.live = new LiveQueries(replica, events);
  }

  void useStore(LocalStore opened) {
    store = opened;
  }

  /** The local clock: the wall clock corrected by the server's offset. */
  long now() {
    return wallClock.getAsLong() + offset;
  }

  /** Takes what the store holds: replica, queue, cursors, clientId, clock, sign-in. */
  void load(LocalState state) {
    clientId = state.clientId();
    clock = new HlcClock(clientId, this::now);
    if (state.clock() != null) clock.receive(Hlc.parse(state.clock()));
    // the clock never goes back across restarts: also above everything stored
    for (StoredRegister r : state.registers()) {
      replica.mergeConfirmed(r.db(), r.col(), r.id(), r.attr(), r.value(), r.ts());
      clock.receive(Hlc.parse(r.ts()));
    }
    for (StoredRegister p : state.pending()) {
      replica.setPending(new Replica.Pending(p.db(), p.col(), p.id(), p.attr(), p.value(), p.ts()));
      clock.receive(Hlc.parse(p.ts()));
    }
    // Edits queued under an earlier clientId carry its ORIGIN, and the server takes from a
    // connection only its own id's (it would refuse them for good): stamp them again under this one
    // One the server has already (its ack was stored, its leaving the queue was not), or that a
    // newer write has beaten, is dropped instead: stamped again, it would overwrite what came after
    StoreWrite restamped = new StoreWrite();
    boolean anyRestamped = false;
    for (StoredRegister p : state.pending()) {
      if (Hlc.parse(p.ts()).origin().equals(clientId)) continue;
      replica.removePending(p.db(), p.col(), p.id(), p.attr(), p.ts());
      restamped.pendingDelete(p);
      anyRestamped = true;
      Register confirmed = replica.confirmed(p.db(), p.col(), p.id(), p.attr());
      if (confirmed != null && confirmed.ts().compareTo(p.ts()) >= 0) continue;
      Replica.Pending next = new Replica.Pending(p.db(), p.col(), p.id(), p.attr(), p.value(), clock.tick().format());
      replica.setPending(next);
      restamped.pendingPut(next.stored());
    }
    if (anyRestamped) persist(restamped.clock(clock.last().format()));
    cursors.putAll(state.cursors());
    auth = TokenRecord.fromJson(state.auth());
    owner = state.owner();
    replica.refresh(); // where we start, not a change: no events
    loaded = true;
    live.runAll();
    updateStatus();
    if (user() != null) events.emit(ClientEvent.AUTH, new ClientEvent.AuthChange(user()));
  }

  UserInfo user() {
    TokenRecord a = auth;
    return a == null ? null : a.user();
  }

  ClientEvent.Status status() {
    return status;
  }

  /**
   * {@link #persist}, unless the user's data was wiped since {@code life} (a listener called
   * {@code logout()}, or signed in as another user, while the events were told): what the write
   * holds was that user's, and must not reach the store the next user loads.
   */
  private Future<Void> persistUnlessWiped(long life, StoreWrite w) {
    return life == wipes ? persist(w) : Future.succeededFuture();
  }

  /** Queues a store write after the earlier ones; the future completes here once it is durable. */
  Future<Void> persist(StoreWrite w) {
    Promise<Void> done = Promise.promise();
    store.write(w).whenComplete((v, e) -> context.runOnContext(x -> {
      if (e == null) {
        done.complete();
      } else {
        events.emit(ClientEvent.ERROR, ClientEvent.ClientError.of("storage", "store: " + e.getMessage()));
        done.fail(new SynclineException("storage", "the local store failed: " + e.getMessage()));
      }
    }));
    return done.future();
  }

  /** Reports documents that look different: doc events, live queries, status. */
  void publish(List<Replica.Change> changes, boolean local) {
    events.batch(() -> {
      for (Replica.Change c : changes) {
        ClientEvent<ClientEvent.DocChange> type = c.before() == null ? ClientEvent.DOC_CREATE
            : c.after() == null ? ClientEvent.DOC_DESTROY : ClientEvent.DOC_UPDATE;
        events.emit(type, new ClientEvent.DocChange(c.db(), c.col(), c.id(), c.after(), c.before(), local));
      }
    });
    if (!changes.isEmpty()) live.notify(changes);
  }

  void updateStatus() {
    ClientEvent.Status s = status;
    int pending = replica.pendingCount();
    if (s.online() == online && s.pending() == pending && s.synced().equals(synced)) return;
    status = new ClientEvent.Status(online, pending, synced);
    events.emit(ClientEvent.STATUS, status);
  }

  void setOnline(boolean now) {
    online = now;
    if (!now) synced = Map.of();
    updateStatus();
  }

  /** How often the user's data was dropped so far (see {@link #persistUnlessWiped}). */
  long wipes() {
    return wipes;
  }

  void setSynced(String db, long seq) {
    if (!online) return; // a listener of the frame that said so took the client offline
    Map<String, Long> next = new LinkedHashMap<>(synced);
    next.put(db, seq);
    synced = Map.copyOf(next);
    updateStatus();
  }

  /** The database is not caught up: no longer followed (the server says it does not exist), or being caught up again after a reset. */
  void setUnsynced(String db) {
    if (!synced.containsKey(db)) return;
    Map<String, Long> next = new LinkedHashMap<>(synced);
    next.remove(db);
    synced = Map.copyOf(next);
    updateStatus();
  }

  void emitError(String code, String message, String db, String col, String id, String attr, Integer servers) {
    events.emit(ClientEvent.ERROR, new ClientEvent.ClientError(code, message, db, col, id, attr, servers));
  }

  // ---- who the client is ----

  /** A sign-in kept: whether another user's data was dropped for it, and when the store has it. */
  record SignIn(boolean wiped, Future<Void> stored) {}

  /**
   * Keeps a new token record (login, signup, renew). If the replica holds another user's data,
   * that data and the queue are dropped first.
   */
  SignIn signIn(TokenRecord record) {
    boolean wiped = owner != null && !owner.equals(record.user().id());
    UserInfo before = user();
    List<Replica.Change> dropped = wiped ? dropEverything() : List.of();
    auth = record;
    owner = record.user().id();
    StoreWrite w = new StoreWrite().auth(record.toJson()).owner(owner);
    Future<Void> stored = persist(wiped ? w.wipe() : w);
    told(dropped);
    if (!Objects.equals(before, record.user())) events.emit(ClientEvent.AUTH, new ClientEvent.AuthChange(record.user()));
    return new SignIn(wiped, stored);
  }

  /**
   * Forgets the token. With {@code wipe} (logout) also drops every database's data, its cursor and
   * the queue: they belong to the user signing out and must not be pushed under another identity.
   * Without (the server refused the token), the data stays and the queue waits for its user.
   */
  Future<Void> signOut(boolean wipe) {
    UserInfo before = user();
    List<Replica.Change> dropped = List.of();
    if (wipe) {
      dropped = dropEverything();
      owner = null;
    }
    auth = null;
    StoreWrite w = new StoreWrite().auth(null).owner(owner);
    Future<Void> stored = persist(wipe ? w.wipe() : w);
    told(dropped);
    if (before != null) events.emit(ClientEvent.AUTH, new ClientEvent.AuthChange(null));
    return stored;
  }

  /** welcome.user: the server's view of the signed-in user, whose roles may have changed. */
  void updateUser(UserInfo user) {
    TokenRecord a = auth;
    if (a == null || user == null || !user.id().equals(a.user().id()) || user.equals(a.user())) return;
    auth = new TokenRecord(a.token(), a.expiresAt(), a.issuedAt(), user);
    persist(new StoreWrite().auth(auth.toJson()));
    events.emit(ClientEvent.AUTH, new ClientEvent.AuthChange(user));
  }

  /**
   * In memory only: every document disappears, and the cursors go. Returns the changes, {@link
   * #told} once the new identity is set and the wipe is queued for the store: a listener that
   * writes in reaction does so as the new user, and its write lands after the wipe.
   */
  private List<Replica.Change> dropEverything() {
    wipes++;
    replica.clear();
    cursors.clear();
    synced = Map.of();
    return replica.refresh();
  }

  private void told(List<Replica.Change> dropped) {
    publish(dropped, false);
    updateStatus();
  }

  // ---- local edits ----

  /**
   * Sets attributes of one document (already checked), stamped with one new timestamp: applied at
   * once (events, live queries), then persisted and queued for the server. Completes once stored.
   */
  Future<Void> write(String db, String col, String id, Map<String, JsonNode> attrs) {
    if (attrs.isEmpty()) return Future.succeededFuture();
    // The clock can be behind what the replica holds for these attributes (correctClock sets it
    // back below writes still pending): an edit stamped under those would not show, nor be pushed.
    for (String attr : attrs.keySet()) {
      String newest = replica.newestTs(db, col, id, attr);
      if (newest != null) clock.receive(Hlc.parse(newest));
    }
    String ts = clock.tick().format();
    long life = wipes;
    StoreWrite w = new StoreWrite();
    for (var e : attrs.entrySet()) {
      Replica.Pending p = new Replica.Pending(db, col, id, e.getKey(), e.getValue(), ts);
      replica.setPending(p);
      w.pendingPut(p.stored());
    }
    publish(replica.refresh(), true);
    updateStatus();
    if (life != wipes) return Future.succeededFuture(); // a listener signed out: the edit went with the user's data
    // pushed even if the store failed: the edit is applied and pending in memory all the same
    return persist(w.clock(clock.last().format())).onComplete(ar -> onPending.accept(db));
  }

  // ---- from the server ----

  /**
   * A {@code changes} frame: merge, report, persist the registers that won with the cursor. The
   * values of a destroyed document whose {@code $deleted} is in {@code valuesPurged} (the server
   * purged them) go from memory and the store.
   */
  Future<Void> applyChanges(String db, List<Delta> deltas, List<Delta> valuesPurged, Cursor cursor) {
    receivedDeltas += deltas.size();
    long life = wipes;
    StoreWrite w = new StoreWrite();
    for (Delta d : deltas) {
      clock.receive(Hlc.parse(d.ts()));
      if (replica.mergeConfirmed(db, d.col(), d.id(), d.attr(), d.value(), d.ts()) == Merge.Outcome.APPLIED) {
        w.register(stored(db, d));
      }
      // in frame order: a value committed after the purge (a peer's late write to a document a
      // newer write brought back) may come later in the same frame, stamped before the $deleted
      if (!valuesPurged.isEmpty() && isMarked(valuesPurged, d)) replica.forgetHidden(db, d.col(), d.id(), d.ts()).forEach(w::forget);
    }
    cursors.put(db, cursor); // before the listeners: one that signs out drops it with the rest
    publish(replica.refresh(), false);
    return persistUnlessWiped(life, w.cursor(db, cursor).clock(clock.last().format()));
  }

  /** Whether {@code d} is one of {@code marked} itself (not an equal delta elsewhere in the frame). */
  static boolean isMarked(List<Delta> marked, Delta d) {
    for (Delta m : marked) if (m == d) return true;
    return false;
  }

  /** After a reset: {@code deltas} is the database's whole state; pending writes stay. */
  Future<Void> replaceDatabase(String db, List<Delta> deltas, Cursor cursor) {
    receivedDeltas += deltas.size();
    long life = wipes;
    List<StoredRegister> rows = new ArrayList<>(deltas.size());
    for (Delta d : deltas) {
      clock.receive(Hlc.parse(d.ts()));
      rows.add(stored(db, d));
    }
    replica.replaceConfirmed(db, rows);
    cursors.put(db, cursor);
    publish(replica.refresh(), false);
    return persistUnlessWiped(life, new StoreWrite().drop(db).registers(rows).cursor(db, cursor).clock(clock.last().format()));
  }

  /** Stores a cursor that moved without data ({@code synced.seq} beyond the last frame). */
  Future<Void> saveCursor(String db, Cursor cursor) {
    if (cursor.equals(cursors.get(db))) return Future.succeededFuture();
    cursors.put(db, cursor);
    return persist(new StoreWrite().cursor(db, cursor));
  }

  private static StoredRegister stored(String db, Delta d) {
    return new StoredRegister(db, d.col(), d.id(), d.attr(), d.value(), d.ts());
  }

  /** A pushed delta the server recorded ({@code result}); {@code newest} when it is now the replica's confirmed register. */
  private record Recorded(Delta delta, String result, boolean newest) {}

  /** What settling a push's results asks of the session. */
  record Settled(boolean retry, Long retryAfterMs) {}

  /**
   * The results of pushed deltas (an ack's, or refusals found before sending): recorded ones
   * leave the queue and join the confirmed state; clock_skew ones are stamped again; refused ones
   * are dropped, so the attribute returns to the server's value; quorum_timeout and other
   * transient ones stay queued to be pushed again.
   */
  Settled settle(String db, List<Delta> deltas, List<JsonNode> results) {
    long life = wipes;
    List<Recorded> recorded = new ArrayList<>();
    List<Delta> dropped = new ArrayList<>();
    List<JsonNode> droppedWhy = new ArrayList<>();
    List<Delta> skewed = new ArrayList<>();
    Long serverTime = null;
    boolean retry = false;
    Long retryAfterMs = null;
    for (int i = 0; i < deltas.size(); i++) {
      Delta d = deltas.get(i);
      JsonNode r = i < results.size() ? results.get(i) : null;
      if (r == null) continue; // no result: stays queued, pushed again
      if (r.isTextual()) {
        replica.removePending(db, d.col(), d.id(), d.attr(), d.ts());
        // the server holds it (applied, duplicate), which a change may have brought here first.
        // Superseded: the server kept something newer, or nothing at all (a write from before a
        // destroy), so the losing value is not this replica's copy of the server's
        Merge.Outcome held = r.asText().equals("superseded") ? Merge.Outcome.SUPERSEDED
            : replica.mergeConfirmed(db, d.col(), d.id(), d.attr(), d.value(), d.ts());
        recorded.add(new Recorded(d, r.asText(), held == Merge.Outcome.APPLIED));
        continue;
      }
      String error = r.path("error").asText("internal");
      if (error.equals("clock_skew")) {
        skewed.add(d);
        if (r.has("serverTime")) serverTime = r.get("serverTime").asLong();
      } else if (error.equals("quorum_timeout")) {
        // stored on that server, not yet on w of them: not recorded; pushed again later. Reported
        // only while it is still the attribute's write: a newer one gets an answer of its own
        retry = true;
        Replica.Pending still = replica.pendingEntry(db, d.col(), d.id(), d.attr());
        if (still != null && still.ts().equals(d.ts())) {
          emitError(error, r.path("message").asText(error), db, d.col(), d.id(), d.attr(), r.has("servers") ? r.get("servers").asInt() : null);
        }
      } else if (!FINAL.contains(error)) {
        retry = true;
        if (r.has("retryAfterMs")) retryAfterMs = Math.max(retryAfterMs == null ? 0 : retryAfterMs, r.get("retryAfterMs").asLong());
      } else if (replica.removePending(db, d.col(), d.id(), d.attr(), d.ts()) != null) {
        dropped.add(d);
        droppedWhy.add(r);
      }
    }
    StoreWrite w = new StoreWrite();
    if (!skewed.isEmpty()) {
      // without the server's time the new stamp may be refused again: not at once, then
      if (serverTime != null) correctClock(serverTime);
      else retry = true;
      for (Delta d : skewed) {
        Replica.Pending p = replica.pendingEntry(db, d.col(), d.id(), d.attr());
        if (p == null || !p.ts().equals(d.ts())) continue; // written again since: that write goes instead
        Replica.Pending next = new Replica.Pending(db, d.col(), d.id(), d.attr(), p.value(), clock.tick().format());
        replica.removePending(db, d.col(), d.id(), d.attr(), d.ts());
        replica.setPending(next);
        w.pendingDelete(p.stored()).pendingPut(next.stored());
      }
    }
    publish(replica.refresh(), false);
    for (Recorded rec : recorded) {
      Delta d = rec.delta();
      events.emit(ClientEvent.DOC_RECORD, new ClientEvent.Recorded(db, d.col(), d.id(), d.attr(), d.ts(), rec.result()));
      // the store follows the replica: a register that lost to a newer one held must not overwrite it there
      if (rec.newest()) w.register(stored(db, d));
      w.pendingDelete(stored(db, d));
    }
    for (int i = 0; i < dropped.size(); i++) {
      Delta d = dropped.get(i);
      JsonNode r = droppedWhy.get(i);
      emitError(r.path("error").asText(), r.path("message").asText(r.path("error").asText()), db, d.col(), d.id(), d.attr(), null);
      w.pendingDelete(stored(db, d));
    }
    updateStatus();
    if (!w.isEmpty()) persistUnlessWiped(life, w.clock(clock.last().format()));
    return new Settled(retry, retryAfterMs);
  }

  /**
   * Takes the server's time as the clock offset. If the clock ran past what the server accepts
   * (a wall clock that was ahead while writing offline), it is set back to the newest timestamp
   * held that the server would accept, so the refused writes can be stamped again.
   */
  void correctClock(long serverTime) {
    offset = serverTime - wallClock.getAsLong();
    long limitMs = serverTime + limits.maxClockSkewMs();
    if (clock.last().ms() <= limitMs) return;
    Hlc newest = new Hlc(0, 0, clientId);
    for (String ts : replica.timestamps()) {
      Hlc h = Hlc.parse(ts);
      if (h.ms() <= limitMs && h.compareTo(newest) > 0) newest = h;
    }
    clock = new HlcClock(clientId, this::now);
    clock.receive(newest);
  }
}
