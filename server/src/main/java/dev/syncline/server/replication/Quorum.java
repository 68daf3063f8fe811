package dev.syncline.server.replication;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pushes waiting until enough servers hold their changes. A change of database {@code db} at seq
 * {@code s} (of this server's epoch {@code e}) is held by this server, once committed, and by
 * every peer that confirmed {@code (db, e)} up to {@code s} or beyond. Peers confirm on their
 * links as they apply (see {@link Replication#acked}).
 */
final class Quorum {
  /** What each peer confirmed: peer → db → (epoch, seq). */
  private final Map<String, Map<String, Confirmed>> confirmed = new ConcurrentHashMap<>();
  /**
   * Waiting pushes by database, then by seq: a confirmation through seq {@code s} looks only at
   * those at or below it, and a timeout removes its own in log time. Guarded by itself.
   */
  private final Map<String, TreeMap<Long, List<Waiter>>> waiters = new HashMap<>();
  private final Vertx vertx;

  record Confirmed(String epoch, long seq) {}

  private static final class Waiter {
    final String db;
    final String epoch;
    final long seq;
    final int w;
    final Context context;
    final Promise<Integer> promise = Promise.promise();
    long timer;

    Waiter(String db, String epoch, long seq, int w, Context context) {
      this.db = db;
      this.epoch = epoch;
      this.seq = seq;
      this.w = w;
      this.context = context;
    }
  }

  Quorum(Vertx vertx) {
    this.vertx = vertx;
  }

  /** How many servers hold {@code (db, epoch)} through {@code seq}, this one included. */
  int holders(String db, String epoch, long seq) {
    int n = 1;
    for (Map<String, Confirmed> byDb : confirmed.values()) {
      Confirmed c = byDb.get(db);
      if (c != null && c.epoch().equals(epoch) && c.seq() >= seq) n++;
    }
    return n;
  }

  /**
   * Completes (on the caller's context) with the number of servers that hold the change, once it
   * is at least {@code w}, or after {@code timeoutMs} with however many do by then.
   */
  Future<Integer> await(String db, String epoch, long seq, int w, long timeoutMs) {
    int now = holders(db, epoch, seq);
    if (now >= w) return Future.succeededFuture(now);
    Waiter waiter = new Waiter(db, epoch, seq, w, Vertx.currentContext());
    synchronized (waiters) {
      // published with its timer: a confirmation on another thread cancels this timer, never another
      waiters.computeIfAbsent(db, d -> new TreeMap<>()).computeIfAbsent(seq, q -> new ArrayList<>(1)).add(waiter);
      waiter.timer = vertx.setTimer(timeoutMs, id -> {
        if (remove(waiter)) complete(waiter, holders(db, epoch, seq));
      });
    }
    // a confirmation may have come between the first count and the registration
    int again = holders(db, epoch, seq);
    if (again >= w && remove(waiter)) {
      vertx.cancelTimer(waiter.timer);
      complete(waiter, again);
    }
    return waiter.promise.future();
  }

  /** A peer confirmed {@code (db, epoch)} through {@code seq}. */
  void confirmed(String peer, String db, String epoch, long seq) {
    confirmed.computeIfAbsent(peer, p -> new ConcurrentHashMap<>()).put(db, new Confirmed(epoch, seq));
    List<Waiter> done = new ArrayList<>();
    synchronized (waiters) {
      TreeMap<Long, List<Waiter>> bySeq = waiters.get(db);
      if (bySeq == null) return;
      // only pushes at or below seq can have gained a holder
      for (Iterator<List<Waiter>> at = bySeq.headMap(seq, true).values().iterator(); at.hasNext(); ) {
        List<Waiter> same = at.next();
        same.removeIf(w -> {
          boolean held = holders(w.db, w.epoch, w.seq) >= w.w;
          if (held) done.add(w);
          return held;
        });
        if (same.isEmpty()) at.remove();
      }
      if (bySeq.isEmpty()) waiters.remove(db);
    }
    for (Waiter w : done) {
      vertx.cancelTimer(w.timer);
      complete(w, holders(w.db, w.epoch, w.seq));
    }
  }

  /** A peer gone for good: what it confirmed no longer counts. */
  void forget(String peer) {
    confirmed.remove(peer);
  }

  /** A database destroyed here: no peer holds any of its life. */
  void forgetDatabase(String db) {
    confirmed.values().forEach(byDb -> byDb.remove(db));
  }

  /** {@code peer}'s confirmation of {@code db}, if it is of {@code epoch}: one that came too late for its life. */
  void forget(String peer, String db, String epoch) {
    Map<String, Confirmed> byDb = confirmed.get(peer);
    if (byDb != null) byDb.computeIfPresent(db, (k, c) -> c.epoch().equals(epoch) ? null : c);
  }

  /** The databases {@code peer} has confirmed something of. */
  java.util.Set<String> databasesConfirmedBy(String peer) {
    Map<String, Confirmed> byDb = confirmed.get(peer);
    return byDb == null ? java.util.Set.of() : java.util.Set.copyOf(byDb.keySet());
  }

  /** What {@code peer} confirmed of {@code db}, or null. */
  Confirmed confirmedBy(String peer, String db) {
    Map<String, Confirmed> byDb = confirmed.get(peer);
    return byDb == null ? null : byDb.get(db);
  }

  private boolean remove(Waiter w) {
    synchronized (waiters) {
      TreeMap<Long, List<Waiter>> bySeq = waiters.get(w.db);
      List<Waiter> same = bySeq == null ? null : bySeq.get(w.seq);
      if (same == null || !same.remove(w)) return false;
      if (same.isEmpty()) bySeq.remove(w.seq);
      if (bySeq.isEmpty()) waiters.remove(w.db);
      return true;
    }
  }

  private static void complete(Waiter w, int holders) {
    if (w.context == null) w.promise.complete(holders);
    else w.context.runOnContext(v -> w.promise.complete(holders));
  }
}
