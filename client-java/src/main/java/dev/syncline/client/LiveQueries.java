package dev.syncline.client;

import io.vertx.core.Handler;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * Live queries: a filter over one collection and a listener that gets the result at once and
 * again whenever it changes. Run on the client's event loop.
 */
final class LiveQueries {
  /** Calls of a live query's listener in a row that may each write and so call it again. */
  static final int MAX_RERUNS = 100;

  private final class Query implements LiveQuery {
    final String db;
    final String col;
    final Predicate<Doc> filter;
    final Handler<List<Doc>> listener;
    volatile boolean stopped;
    List<Doc> last;
    /** Its listener is being called; {@code dirty}: it wrote meanwhile, so it runs again after. */
    boolean running;
    boolean dirty;

    Query(String db, String col, Predicate<Doc> filter, Handler<List<Doc>> listener) {
      this.db = db;
      this.col = col;
      this.filter = filter;
      this.listener = listener;
    }

    @Override
    public void close() {
      stopped = true;
      Set<Query> set = byCol.get(db + '\0' + col);
      if (set != null) set.remove(this);
    }
  }

  private final Replica replica;
  private final Emitter events;
  private final Map<String, Set<Query>> byCol = new ConcurrentHashMap<>();

  LiveQueries(Replica replica, Emitter events) {
    this.replica = replica;
    this.events = events;
  }

  /** Registers a query; the caller runs it once at once ({@link #run}) on the event loop. */
  LiveQuery add(String db, String col, Predicate<Doc> filter, Handler<List<Doc>> listener) {
    Query q = new Query(db, col, filter == null ? d -> true : filter, listener);
    byCol.computeIfAbsent(db + '\0' + col, k -> ConcurrentHashMap.newKeySet()).add(q);
    return q;
  }

  /** Runs the queries of every collection named in {@code changes}. */
  void notify(List<Replica.Change> changes) {
    Set<String> keys = new java.util.LinkedHashSet<>();
    for (Replica.Change c : changes) keys.add(c.db() + '\0' + c.col());
    for (String k : keys) for (Query q : List.copyOf(byCol.getOrDefault(k, Set.of()))) run(q);
  }

  /** Runs every query (once the store is loaded). */
  void runAll() {
    for (Set<Query> set : byCol.values()) for (Query q : List.copyOf(set)) run(q);
  }

  void run(LiveQuery query) {
    Query q = (Query) query;
    if (q.stopped) return;
    if (q.running) {
      // its listener wrote: it runs again once that call returns, so the last call has the last result
      q.dirty = true;
      return;
    }
    q.running = true;
    int runs = 0;
    try {
      do {
        if (++runs > MAX_RERUNS) {
          // a listener that changes what it reads every time it is called would never end
          events.runListener("a live query on " + q.col, () -> {
            throw new IllegalStateException("its listener wrote at each of " + MAX_RERUNS + " calls in a row; it runs again at the next change");
          });
          return;
        }
        q.dirty = false;
        // the filter and the listener are the app's: what they throw is reported, not thrown into the client
        events.runListener("a live query on " + q.col, () -> {
          List<Doc> result = new ArrayList<>();
          for (Doc d : replica.docs(q.db, q.col)) if (q.filter.test(d)) result.add(d);
          if (q.last != null && sameDocs(q.last, result)) return;
          q.last = List.copyOf(result);
          q.listener.handle(q.last);
        });
      } while (q.dirty && !q.stopped);
    } finally {
      q.running = false;
    }
  }

  private static boolean sameDocs(List<Doc> a, List<Doc> b) {
    if (a.size() != b.size()) return false;
    for (int i = 0; i < a.size(); i++) if (a.get(i) != b.get(i)) return false; // documents are immutable: same object, same content
    return true;
  }
}
