package dev.syncline.server.hub;

import dev.syncline.server.commit.Committer;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.CommittedDelta;
import dev.syncline.server.store.DatabaseInfo;
import dev.syncline.server.store.ReadFilter;
import dev.syncline.server.store.Store;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.LinkedHashMap;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Subscriptions and the fan-out of committed changes.
 *
 * <h2>Threads</h2>
 * Every event loop that holds subscriptions has its own {@link LoopRegistry}, touched only on
 * that loop, so subscribing, unsubscribing and delivering take no locks. (Vert.x runs each
 * connection on a duplicate of its loop's context, and all of them on the loop's one thread: the
 * registry is found by that thread, and tasks are posted to it through the first context seen
 * there, which runs them on that thread in the order posted.) The committer calls
 * {@link #committed} after each durable group; the hub hands the batch once to each loop, in
 * commit order (through the loop's inbox, drained in order), and the loop hands it to its
 * subscriptions. A loop that fell behind merges the commits it finds queued into one batch per
 * database, so under load each subscriber gets fewer, larger frames.
 *
 * <h2>Encoding once</h2>
 * Deltas arrive already encoded by the store. On each loop the frame body (everything after the
 * subscription id) is built once per audience — subscribers of the same database with the same
 * collection filter — and shared by all of them; see {@link ChangesFrame}.
 *
 * <h2>Catch-up, live, lagging</h2>
 * See {@link Subscription}: a subscription reads stored pages on worker threads until it reaches
 * the head, then switches to live batches without gap or duplicate, and falls back to reading
 * from the store whenever its socket stops draining, so a slow client costs a bounded buffer.
 */
public final class Hub implements Committer.CommitListener {
  private final Store store;
  private final HubOptions options;
  private final WorkerExecutor readers;
  /** By event-loop thread. */
  private final Map<Thread, LoopRegistry> loops = new ConcurrentHashMap<>();
  private final AtomicInteger subscriptionCount = new AtomicInteger();
  private final AtomicInteger lagging = new AtomicInteger();
  private final java.util.concurrent.atomic.LongAdder lagEvents = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder pagesRead = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.LongAdder commitsNotQueued = new java.util.concurrent.atomic.LongAdder();
  private final java.util.concurrent.atomic.AtomicLong bufferedBytes = new java.util.concurrent.atomic.AtomicLong();
  private final List<java.util.function.Consumer<String>> createdListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final List<java.util.function.Consumer<String>> destroyedListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

  public Hub(Vertx vertx, Store store, HubOptions options) {
    this.store = store;
    this.options = options;
    this.readers = vertx.createSharedWorkerExecutor("syncline-catch-up", options.catchUpThreads());
  }

  /**
   * Opens a subscription for a connection; must be called on the connection's event loop. It
   * starts catching up from {@code since} at once — or from 0 after a {@code reset}, when the
   * client's copy came from another epoch. {@code filter} is what the reader may see (null:
   * everything); {@code epochOf} names the epoch of the database as this reader sees it, and
   * {@code clientEpoch} is the one the client holds (null: none). Returns null when the database does not exist.
   */
  public Subscription subscribe(String sid, String db, Set<String> cols, long since, String clientEpoch, Outlet outlet,
      ReadFilter filter, Function<DatabaseInfo, String> epochOf) {
    return subscribe(sid, db, cols, since, clientEpoch, outlet, filter, epochOf, false);
  }

  /**
   * As above; {@code feed} marks a peer's feed, which is also sent an empty {@code changes} frame
   * when a commit holds nothing it may see, so the peer's cursor (and what it confirms) keeps up
   * with the head.
   */
  public Subscription subscribe(String sid, String db, Set<String> cols, long since, String clientEpoch, Outlet outlet,
      ReadFilter filter, Function<DatabaseInfo, String> epochOf, boolean feed) {
    return subscribe(sid, db, cols, since, clientEpoch, outlet, filter, epochOf, feed, info -> { });
  }

  /**
   * As above; {@code opening} is given the life of the database the subscription follows, before
   * anything is sent for it, so the caller announces that life ({@code subscribed}) and not one
   * it looked up itself, which a destroy and a create may have replaced since.
   */
  public Subscription subscribe(String sid, String db, Set<String> cols, long since, String clientEpoch, Outlet outlet,
      ReadFilter filter, Function<DatabaseInfo, String> epochOf, boolean feed, Consumer<DatabaseInfo> opening) {
    LoopRegistry registry = registryOfThisLoop();
    long destroysBefore;
    Optional<DatabaseInfo> info;
    do {
      destroysBefore = destroys.getOrDefault(db, 0L); // before the store is asked: see destroyed()
      info = store.database(db);
      // a destroy counted meanwhile, perhaps with a create after it: the life read may be the old
      // one (its notice is on its way) or the new one (the notice would end it), so look again
    } while (destroys.getOrDefault(db, 0L) != destroysBefore);
    if (info.isEmpty()) return null;
    opening.accept(info.get());
    Subscription s = new Subscription(this, registry, sid, db, cols, outlet, filter, epochOf, feed);
    s.destroysSeen = destroysBefore;
    registry.add(s);
    subscriptionCount.incrementAndGet();
    boolean otherEpoch = clientEpoch != null && !clientEpoch.equals(epochOf.apply(info.get()));
    s.start(since, clientEpoch != null, otherEpoch, info.get());
    return s;
  }

  /**
   * Runs tasks on the calling event loop in order with the commits handed to this loop's
   * subscriptions: after every commit handed over before the task, before every later one. What
   * changes how subscriptions filter (users, policies) goes this way, so no change committed after
   * it reaches a subscriber under the old filter. Call on an event loop.
   */
  public Executor inCommitOrder() {
    return registryOfThisLoop()::post;
  }

  private LoopRegistry registryOfThisLoop() {
    // each connection runs on its own duplicate of its event loop's context: key by the loop's thread
    Context context = Vertx.currentContext();
    return loops.computeIfAbsent(Thread.currentThread(), t -> new LoopRegistry(this, context));
  }

  /** How many times each database was destroyed while this server ran: tells a subscription's life from the next. */
  private final Map<String, Long> destroys = new java.util.concurrent.ConcurrentHashMap<>();

  /** Ends every subscription of a database that was destroyed; each is told {@code not_found}. */
  public void databaseDestroyed(String db) {
    long n = destroys.merge(db, 1L, Long::sum);
    loops.values().forEach(registry -> registry.post(() -> registry.destroyed(db, n)));
    destroyedListeners.forEach(l -> l.accept(db));
  }

  /** Calls {@code listener} (on the thread that reports it, see {@link #databaseDestroyed}) with every database destroyed from now on. */
  public void onDatabaseDestroyed(java.util.function.Consumer<String> listener) {
    destroyedListeners.add(listener);
  }

  /**
   * A database lost registers without tombstones (destroyed through a timestamp, with newer
   * registers left): every subscription to it starts over with {@code reset} and its new epoch.
   */
  public void databaseTrimmed(String db) {
    loops.values().forEach(registry -> registry.post(() -> registry.trimmed(db)));
  }

  /**
   * Calls {@code listener} (on the thread that reports the creation, see {@link #databaseCreated})
   * with the name of every database created from now on. Returns what stops it.
   */
  public Runnable onDatabaseCreated(java.util.function.Consumer<String> listener) {
    createdListeners.add(listener);
    return () -> createdListeners.remove(listener);
  }

  /** A database was created: peers' feeds start serving it. */
  public void databaseCreated(String db) {
    createdListeners.forEach(l -> l.accept(db));
  }

  /** One group commit: its deltas are merged per database into one batch, so one frame per subscriber. */
  @Override
  public void committed(List<BatchOutcome> group) {
    Map<String, List<CommittedDelta>> byDb = new LinkedHashMap<>();
    for (BatchOutcome o : group) {
      if (!o.committed().isEmpty()) byDb.computeIfAbsent(o.db(), d -> new ArrayList<>()).addAll(o.committed());
    }
    if (byDb.isEmpty()) return;
    List<LiveBatch> batches = new ArrayList<>(byDb.size());
    byDb.forEach((db, deltas) -> batches.add(LiveBatch.of(db, deltas)));
    loops.values().forEach(registry -> registry.postCommit(batches));
  }

  public int subscriptions() {
    return subscriptionCount.get();
  }

  /** Subscriptions currently lagging (fed from the store because their socket fell behind). */
  public int laggingSubscriptions() {
    return lagging.get();
  }

  /** How many times a subscription fell behind (its socket busy, or a commit too large for one frame) and was switched to the store. */
  public long lagEvents() {
    return lagEvents.sum();
  }

  /** Group commits not queued for an event loop whose inbox was full: its subscribers read them from the store. */
  public long commitsNotQueued() {
    return commitsNotQueued.sum();
  }

  /** Catch-up pages read from the store (for subscribers catching up or lagging). */
  public long pagesRead() {
    return pagesRead.sum();
  }

  void pageRead() {
    pagesRead.increment();
  }

  /** Live-change bytes held for busy subscriptions right now, over all of them. */
  public long bufferedBytes() {
    return bufferedBytes.get();
  }

  void lagStarted() {
    lagging.incrementAndGet();
    lagEvents.increment();
  }

  void lagEnded() {
    lagging.decrementAndGet();
  }

  void buffered(long delta) {
    bufferedBytes.addAndGet(delta);
  }

  Store store() {
    return store;
  }

  HubOptions options() {
    return options;
  }

  WorkerExecutor readers() {
    return readers;
  }

  void removed() {
    subscriptionCount.decrementAndGet();
  }

  /**
   * The subscriptions living on one event loop. Only that loop touches them; other threads hand
   * it commits and tasks through its inbox, which the loop drains in order. A loop that fell
   * behind finds several commits queued and merges each database's into one batch (up to a page),
   * so its subscribers get one frame for all of them: the busier the loop, the fewer frames.
   *
   * <p>The inbox holds at most {@link HubOptions#loopInboxBytes()} of commits. A commit past that
   * is not queued: its database is noted as missed, with its last seq and any owner transfers, and
   * one marker is queued in its place. When the loop reaches the marker, that database's
   * subscriptions fall behind as a slow socket makes them, and read what they missed from the store
   * (it is durable there before it is handed over): no gap, no duplicate, and a loop that stalls
   * costs bounded memory however fast others write.
   */
  static final class LoopRegistry {
    private static final Logger log = LoggerFactory.getLogger(LoopRegistry.class);
    private final Map<String, List<Subscription>> byDb = new HashMap<>();
    private final Hub hub;
    /** A context of this loop (any one: they all run tasks on its thread, in order). */
    private final Context context;
    /** The most bytes of deltas merged into one batch: a catch-up page, what one frame may hold. */
    private final int mergeBytes;
    private final long inboxBytes;
    private final Queue<Queued> inbox = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    /** Bytes of the commits in {@link #inbox}. */
    private final AtomicLong queuedBytes = new AtomicLong();
    /** Databases whose commits were not queued, since the last marker was taken. */
    private final Map<String, Missed> missed = new ConcurrentHashMap<>();
    /** A marker is queued and not yet taken: a commit missed meanwhile is taken with it. */
    private final AtomicBoolean markerQueued = new AtomicBoolean();
    private final ReadTurns readTurns;

    LoopRegistry(Hub hub, Context context) {
      this.hub = hub;
      this.context = context;
      this.readTurns = new ReadTurns(context);
      this.mergeBytes = hub.options.catchUpPageBytes();
      this.inboxBytes = hub.options.loopInboxBytes();
    }

    ReadTurns readTurns() {
      return readTurns;
    }

    /** Runs {@code task} on this registry's loop, after the commits and tasks handed over before it. */
    void post(Runnable task) {
      enqueue(new Queued(null, 0, task));
    }

    /**
     * Delivers one group commit's batches (one per database) on this registry's loop, in order.
     * Called by the committer's thread only.
     */
    void postCommit(List<LiveBatch> commit) {
      int bytes = 0;
      for (LiveBatch b : commit) bytes += b.bytes();
      long queued = queuedBytes.get();
      if (queued > 0 && queued + bytes > inboxBytes) {
        // noted before the marker is looked at: a loop that takes the marker after this sees it
        for (LiveBatch b : commit) missed.merge(b.db(), Missed.of(b), Missed::then);
        hub.commitsNotQueued.increment();
        if (markerQueued.compareAndSet(false, true)) enqueue(Queued.MARKER);
        return;
      }
      queuedBytes.addAndGet(bytes);
      enqueue(new Queued(commit, bytes, null));
    }

    private void enqueue(Queued q) {
      inbox.add(q);
      if (drainScheduled.compareAndSet(false, true)) context.runOnContext(v -> drain());
    }

    private void drain() {
      // cleared first: whatever is queued after this is either taken below or schedules a new drain
      drainScheduled.set(false);
      Map<String, List<LiveBatch>> held = new LinkedHashMap<>();
      Queued q;
      while ((q = inbox.poll()) != null) {
        if (q.task() != null) {
          deliverHeld(held); // a task sees the commits queued before it delivered
          runTask(q.task());
          continue;
        }
        if (q == Queued.MARKER) {
          deliverHeld(held); // what was queued before the missed commits goes first
          takeMissed();
          continue;
        }
        queuedBytes.addAndGet(-q.bytes());
        for (LiveBatch b : q.commit()) {
          List<LiveBatch> same = held.computeIfAbsent(b.db(), d -> new ArrayList<>());
          if (!same.isEmpty() && heldBytes(same) + b.bytes() > mergeBytes) {
            deliver(LiveBatch.merge(same));
            same.clear();
          }
          same.add(b);
        }
      }
      deliverHeld(held);
    }

    private void takeMissed() {
      // cleared before reading: a commit missed after this either is read below or queues a new marker
      markerQueued.set(false);
      for (String db : List.copyOf(missed.keySet())) {
        Missed m = missed.remove(db);
        List<Subscription> subs = byDb.get(db);
        if (m == null || subs == null) continue;
        for (Subscription s : List.copyOf(subs)) {
          try {
            s.missed(m.lastSeq(), m.transfers());
          } catch (RuntimeException e) {
            s.abort(e);
          }
        }
      }
    }

    private void deliverHeld(Map<String, List<LiveBatch>> held) {
      for (List<LiveBatch> commits : held.values()) {
        if (!commits.isEmpty()) deliver(LiveBatch.merge(commits));
      }
      held.clear();
    }

    private static int heldBytes(List<LiveBatch> commits) {
      int bytes = 0;
      for (LiveBatch c : commits) bytes += c.bytes();
      return bytes;
    }

    private static void runTask(Runnable task) {
      try {
        task.run();
      } catch (RuntimeException e) {
        log.error("hub task failed", e);
      }
    }

    void add(Subscription s) {
      byDb.computeIfAbsent(s.db(), d -> new ArrayList<>()).add(s);
    }

    void remove(Subscription s) {
      List<Subscription> list = byDb.get(s.db());
      if (list == null) return;
      list.remove(s);
      if (list.isEmpty()) byDb.remove(s.db());
    }

    void deliver(LiveBatch batch) {
      List<Subscription> subs = byDb.get(batch.db());
      if (subs == null) return;
      Map<AudienceKey, Audience> audiences = new HashMap<>();
      Audience last = null;
      for (Subscription s : List.copyOf(subs)) {
        // whatever goes wrong with one subscriber, the ones after it still get the batch
        try {
          if (batch.straddles(s.cursor())) {
            // it went live between two of the merged commits: each on its own, as if not merged
            for (LiveBatch commit : batch.commits()) s.onLive(commit, new Audience(commit, s.cols(), s.filter()));
            continue;
          }
          // subscribers in a row mostly share one audience: no key or lookup per subscriber then
          if (last == null || !last.isFor(s.cols(), s.filter())) {
            last = audiences.computeIfAbsent(new AudienceKey(s.cols(), s.filter()),
                k -> new Audience(batch, k.cols(), k.filter()));
          }
          s.onLive(batch, last);
        } catch (RuntimeException e) {
          s.abort(e);
        }
      }
    }

    /**
     * Ends the subscriptions to the life of {@code db} that its {@code n}th destroy ended. One made
     * since, on this loop before this task ran, is to the database made again: it stays.
     */
    void destroyed(String db, long n) {
      List<Subscription> subs = byDb.get(db);
      if (subs == null) return;
      List.copyOf(subs).stream().filter(s -> s.destroysSeen < n).forEach(Subscription::databaseGone);
    }

    void trimmed(String db) {
      List<Subscription> subs = byDb.get(db);
      if (subs != null) List.copyOf(subs).forEach(Subscription::epochChanged);
    }
  }

  /** A group commit's batches and their bytes, or a task, or (neither) the missed-commits marker, in a loop's inbox. */
  private record Queued(List<LiveBatch> commit, int bytes, Runnable task) {
    static final Queued MARKER = new Queued(null, 0, null);
  }

  /**
   * Commits of one database a loop did not queue: up to which seq, and their owner transfers (rare;
   * a reader that sees one must start over, as if it had been delivered), or null if none.
   */
  private record Missed(long lastSeq, LiveBatch transfers) {
    static Missed of(LiveBatch b) {
      List<CommittedDelta> moved = new ArrayList<>();
      if (b.ownerChanges()) {
        for (CommittedDelta d : b.deltas()) if (d.ownerChanged()) moved.add(d);
      }
      return new Missed(b.lastSeq(), moved.isEmpty() ? null : LiveBatch.of(b.db(), moved));
    }

    Missed then(Missed later) {
      if (later.transfers == null) return new Missed(later.lastSeq, transfers);
      if (transfers == null) return later;
      return new Missed(later.lastSeq, LiveBatch.merge(List.of(transfers, later.transfers)));
    }
  }

  /** Subscribers with equal collection filters and equal access see the same deltas. */
  private record AudienceKey(Set<String> cols, ReadFilter filter) {}

  /** The deltas of one live batch that one collection filter and one access let through, and their frame body. */
  static final class Audience {
    final List<byte[]> deltas;
    private final long[] seqs;
    private final LiveBatch batch;
    private final Set<String> cols;
    private final ReadFilter filter;
    private final int bytes;
    private byte[] body;
    private List<byte[]> pages;
    /** The cursor each of {@link #pages} names: the seq of its last delta. */
    private long[] pageSeqs;

    Audience(LiveBatch batch, Set<String> cols, ReadFilter filter) {
      this.batch = batch;
      this.cols = cols;
      this.filter = filter;
      List<byte[]> matching = new ArrayList<>(batch.deltas().size());
      long[] matchingSeqs = new long[batch.deltas().size()];
      int size = 0;
      for (CommittedDelta d : batch.deltas()) {
        if ((cols == null || cols.contains(d.delta().col()))
            && (filter == null || filter.allowsLive(d))) {
          matchingSeqs[matching.size()] = d.delta().seq();
          matching.add(d.json());
          size += d.json().length + 1;
        }
      }
      this.deltas = matching;
      this.seqs = matchingSeqs;
      this.bytes = size;
    }

    boolean isFor(Set<String> cols, ReadFilter filter) {
      return Objects.equals(this.cols, cols) && Objects.equals(this.filter, filter);
    }

    byte[] body() {
      if (body == null) body = ChangesFrame.body(batch.db(), batch.lastSeq(), deltas);
      return body;
    }

    /**
     * The batch as frame bodies of deltas of at most {@code pageBytes} each (a delta larger than
     * that alone), in seq order: each
     * names as its cursor the seq of its last delta, the last one the batch's last seq.
     */
    List<byte[]> pages(int pageBytes) {
      if (pages != null) return pages;
      pages = new ArrayList<>();
      List<Long> cursors = new ArrayList<>();
      int from = 0;
      int size = 0;
      for (int i = 0; i < deltas.size(); i++) {
        int added = deltas.get(i).length + 1;
        if (i > from && size + added > pageBytes) { // no room for delta i: the page ends before it
          pages.add(ChangesFrame.body(batch.db(), seqs[i - 1], deltas.subList(from, i)));
          cursors.add(seqs[i - 1]);
          from = i;
          size = 0;
        }
        size += added;
      }
      pages.add(ChangesFrame.body(batch.db(), batch.lastSeq(), deltas.subList(from, deltas.size())));
      cursors.add(batch.lastSeq());
      pageSeqs = cursors.stream().mapToLong(Long::longValue).toArray();
      return pages;
    }

    /** The cursor page {@code i} of {@link #pages} names (call pages first). */
    long pageSeq(int i) {
      return pageSeqs[i];
    }

    int bytes() {
      return bytes;
    }
  }
}
