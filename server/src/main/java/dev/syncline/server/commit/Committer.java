package dev.syncline.server.commit;

import dev.syncline.protocol.Delta;
import dev.syncline.server.store.BatchOutcome;
import dev.syncline.server.store.PurgeOutcome;
import dev.syncline.server.store.Store;
import dev.syncline.server.store.WriteBatch;
import dev.syncline.server.store.WriteGuard;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The only writer of the store.
 *
 * <h2>How it works</h2>
 * Sessions on any event loop call {@link #push}, which enqueues the batch and returns a future at
 * once. One platform thread drains the queue: it takes everything waiting (up to
 * {@link CommitterOptions#maxGroupDeltas()} deltas), merges the whole group in one store
 * transaction, and commits it with one fsync. Many pushes from many connections therefore share
 * one disk flush — the group grows by itself when the disk is slow, so throughput rises with load
 * while a lone push still commits at once.
 *
 * <h2>Why one thread</h2>
 * Concurrent write transactions in Xodus may conflict and retry; seq assignment must be gap-free
 * and in commit order; and the hub must see groups in the order they became durable. A single
 * writer gives all three without locks.
 *
 * <h2>After the commit</h2>
 * The {@link CommitListener} (auth, then the hub) gets the whole group's outcomes at once, in
 * commit order, on this thread, so subscribers get one frame per group. Then the futures complete
 * on the contexts that called {@link #push}, batched: one task per context per group, not one per push.
 *
 * <h2>Back-pressure</h2>
 * At most {@link CommitterOptions#maxQueuedDeltas()} deltas, and {@link
 * CommitterOptions#maxQueuedBytes()} bytes of them, wait; past either a push fails at once with
 * {@link OverloadedException}, so a flood cannot grow the heap. Batches replicated from
 * peers ({@link #replicate}) are never refused: each link bounds what it has in flight itself,
 * and refusing one would stall the link, not the flood.
 *
 * <h2>Purging</h2>
 * Between groups, at most every {@link CommitterOptions#purgeIntervalMs()}, busy or idle, the
 * writer takes one purge step per database: a bounded slice of its log, continuing where the
 * last step stopped, so old tombstones behind long-lived values are reached too. A step never
 * goes past the {@linkplain #purgeHorizon horizon} (what every peer has confirmed). Reserved
 * databases ({@code $system}) are never purged.
 *
 * <h2>Cleaning the log</h2>
 * The store's log is cleaned here too ({@link Store#cleanLog}), in steps of about
 * {@link #CLEAN_STEP_NANOS}, so a cleaning never holds up a commit for longer than one step:
 * whenever the queue is empty after a group, step after step until something waits; under a load
 * that never empties the queue, a step after each group until a file is done, and the next file
 * {@link #BUSY_CLEAN_INTERVAL_NANOS} later, so garbage cannot pile up.
 *
 * <h2>Sweeping superseded log entries</h2>
 * A commit leaves the log entries its writes superseded in place ({@link Store#sweepLog}). The
 * writer deletes them {@link #SWEEP_BATCH} at a time, the lowest seqs first: after a group until
 * fewer than {@link #SWEEP_BACKLOG} wait, and all of them while it is idle. The larger the backlog,
 * the closer together the lowest of it lie, and the more of a batch share the log pages rewritten.
 */
public final class Committer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Committer.class);

  /** Receives the outcomes of every group commit, in commit order, on the committer thread. */
  @FunctionalInterface
  public interface CommitListener {
    void committed(List<BatchOutcome> group);
  }

  /** A unit of work for the writer thread: a push to merge, or an operation run alone. */
  private abstract static class Task {
    final Context context;

    Task(Context context) {
      this.context = context;
    }
  }

  private static final class PushTask extends Task {
    final WriteBatch batch;
    final Promise<BatchOutcome> promise;
    final int weight;
    final long bytes;

    PushTask(Context context, WriteBatch batch, Promise<BatchOutcome> promise, int weight, long bytes) {
      super(context);
      this.batch = batch;
      this.promise = promise;
      this.weight = weight;
      this.bytes = bytes;
    }
  }

  private static final class OpTask<T> extends Task {
    final Function<Store, T> op;
    final Promise<T> promise;

    OpTask(Context context, Function<Store, T> op, Promise<T> promise) {
      super(context);
      this.op = op;
      this.promise = promise;
    }
  }

  private static final Task STOP = new Task(null) {};
  /**
   * An idle writer looks this often for log files to clean: files it cleaned count as live until
   * Xodus deletes them, seconds later, and only then does the rest of the garbage show.
   */
  private static final long IDLE_WAKE_MS = 1000;
  /** Under constant load, a log file's cleaning starts at most this long after the last one ended: up to 20 files (10 MB of 512 KB files) a second. */
  private static final long BUSY_CLEAN_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
  /**
   * How long a step of cleaning checks entries before it commits: about how long a push arriving
   * meanwhile waits. A 512 KB file took 11–24 ms in one piece; each step adds a commit (~0.3 ms).
   */
  static final long CLEAN_STEP_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** Superseded log entries a busy writer leaves waiting (~100 bytes of memory each). */
  public static final int SWEEP_BACKLOG = 16_384;
  /** Superseded log entries deleted per sweep transaction, during which nothing commits. */
  static final int SWEEP_BATCH = 1024;

  private final Store store;
  private final CommitterOptions options;
  private final CommitListener listener;
  private final LinkedBlockingQueue<Task> queue = new LinkedBlockingQueue<>();
  private final AtomicInteger queuedDeltas = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong queuedBytes = new java.util.concurrent.atomic.AtomicLong();
  private final Thread thread;
  private final CommitStats stats = new CommitStats();
  private volatile boolean closing;
  /** The writer thread has ended: what is queued from now on is answered by whoever queues it. */
  private volatile boolean stopped;
  private long nextPurgeAt;
  private long nextBusyCleanAt = System.nanoTime();
  /** After a failed cleaning, none is tried before this (nanoTime), so a lasting fault is not logged per group. */
  private long cleaningPausedUntil = System.nanoTime();
  /** The same for sweeping. */
  private long sweepingPausedUntil = System.nanoTime();
  /** Nothing is purged until the owner of peers' confirmations says how far it may go. */
  private volatile java.util.function.ToLongFunction<String> purgeHorizon = db -> 0;

  public Committer(Store store, CommitterOptions options, CommitListener listener) {
    this.store = store;
    this.options = options;
    this.listener = listener;
    this.thread = new Thread(this::run, "syncline-committer");
    this.thread.setDaemon(false);
    this.nextPurgeAt = System.currentTimeMillis() + options.purgeIntervalMs();
    this.thread.start();
  }

  /**
   * Queues deltas for one database (null entries are skipped and get a null outcome). Must be
   * called on a Vert.x context; the future completes there once the group holding it is durable.
   */
  public Future<BatchOutcome> push(String db, List<Delta> deltas) {
    return push(db, deltas, null, null);
  }

  /**
   * As {@link #push(String, List)}, written by {@code writer} (the {@code $owner} of documents it
   * creates; null for none) and checked delta by delta by {@code guard} (null: all permitted).
   */
  public Future<BatchOutcome> push(String db, List<Delta> deltas, String writer, WriteGuard guard) {
    Context ctx = Vertx.currentContext();
    Promise<BatchOutcome> promise = Promise.promise();
    int weight = Math.max(1, deltas.size());
    if (closing) return Future.failedFuture(new OverloadedException("server is shutting down"));
    // encodes here, on the caller's thread; writes older than the purge cutoff must not bring back what it purged
    WriteBatch batch = WriteBatch.of(db, deltas, writer, guard, Math.max(0, options.tombstoneRetentionMs()));
    long bytes = batch.encodedBytes();
    int before = queuedDeltas.getAndAdd(weight);
    long bytesBefore = queuedBytes.getAndAdd(bytes);
    if (before > 0 && (before + weight > options.maxQueuedDeltas() || bytesBefore + bytes > options.maxQueuedBytes())) {
      // an empty queue takes any push, so one larger than the bound is not refused forever
      queuedDeltas.addAndGet(-weight);
      queuedBytes.addAndGet(-bytes);
      stats.overloaded.increment();
      return Future.failedFuture(new OverloadedException("write queue is full"));
    }
    queue.add(new PushTask(ctx, batch, promise, weight, bytes));
    if (stopped) failQueued();
    return promise.future();
  }

  /**
   * Queues deltas replicated from a peer ({@link WriteBatch#replicated}); never refused for a full
   * queue. Must be called on a Vert.x context; the future completes there once durable.
   */
  public Future<BatchOutcome> replicate(WriteBatch replicated) {
    if (closing) return Future.failedFuture(new OverloadedException("server is shutting down"));
    WriteBatch batch = replicated.withDestroyRetention(Math.max(0, options.tombstoneRetentionMs()));
    Promise<BatchOutcome> promise = Promise.promise();
    int weight = Math.max(1, batch.deltas().size());
    long bytes = batch.encodedBytes();
    queuedDeltas.addAndGet(weight);
    queuedBytes.addAndGet(bytes);
    queue.add(new PushTask(Vertx.currentContext(), batch, promise, weight, bytes));
    if (stopped) failQueued();
    return promise.future();
  }

  /** Sets how far (by seq, per database) purging may go; until then, nowhere. */
  public void purgeHorizon(java.util.function.ToLongFunction<String> horizon) {
    this.purgeHorizon = horizon;
  }

  /** Runs a write operation on the writer thread, alone in its own transaction(s). */
  public <T> Future<T> execute(Function<Store, T> op) {
    if (closing) return Future.failedFuture(new OverloadedException("server is shutting down"));
    Promise<T> promise = Promise.promise();
    queue.add(new OpTask<>(Vertx.currentContext(), op, promise));
    if (stopped) failQueued();
    return promise.future();
  }

  public CommitStats stats() {
    return stats;
  }

  /** Deltas waiting for the writer. */
  public int queuedDeltas() {
    return queuedDeltas.get();
  }

  /** Stops taking work, commits everything already queued, and waits for the thread to end. */
  @Override
  public void close() {
    closing = true;
    queueStop();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(15)); // commits still queued are made first (see SynclineServer.close)
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Queues the writer's end. A push that passed its {@code closing} check just before close()
   * queues itself after it; a test does the same by calling this first.
   */
  void queueStop() {
    queue.add(STOP);
  }

  // ---- the writer thread ----

  private void run() {
    try {
      loop();
    } catch (RuntimeException | Error e) {
      log.error("the writer stopped: this server takes no more writes", e);
      throw e;
    } finally {
      // a push that raced close(), or any left by a writer that failed, is answered, not left waiting
      closing = true;
      stopped = true;
      failQueued();
    }
  }

  private void failQueued() {
    List<Task> left = new ArrayList<>();
    queue.drainTo(left);
    fail(left, new OverloadedException("server is shutting down"));
  }

  /** Answers {@code tasks} with {@code gone}: the writer will not do them. */
  private void fail(List<Task> tasks, RuntimeException gone) {
    List<PushTask> pushes = new ArrayList<>();
    for (Task t : tasks) {
      if (t instanceof PushTask p) pushes.add(p);
      else if (t instanceof OpTask<?> op) deliver(op.context, () -> op.promise.fail(gone));
    }
    int weight = 0;
    long bytes = 0;
    for (PushTask p : pushes) {
      weight += p.weight;
      bytes += p.bytes;
    }
    queuedDeltas.addAndGet(-weight);
    queuedBytes.addAndGet(-bytes);
    completeAll(pushes, null, gone);
  }

  private void loop() {
    List<Task> drained = new ArrayList<>();
    boolean stop = false;
    while (!stop) {
      Task first;
      try {
        first = queue.poll(Math.min(options.purgeIntervalMs(), IDLE_WAKE_MS), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (first == null) {
        purgeIfDue();
        sweepLog(true);
        cleanLog();
        continue;
      }
      drained.add(first);
      int deltas = first instanceof PushTask p ? p.weight : 0;
      while (deltas < options.maxGroupDeltas()) {
        Task next = queue.poll();
        if (next == null) break;
        drained.add(next);
        if (next instanceof PushTask p) deltas += p.weight;
      }
      stop = process(drained);
      drained.clear();
      purgeIfDue(); // on a timer, not only when idle: a busy server must purge too
      sweepLog(false);
      cleanLog();
    }
    log.debug("committer stopped");
  }

  /**
   * Commits runs of pushes as groups and runs operations in between, in queue order. If the writer
   * must stop (a VirtualMachineError), the tasks taken from the queue and not yet answered are
   * answered first: they are in no queue the writer's end would empty.
   */
  private boolean process(List<Task> tasks) {
    List<PushTask> group = new ArrayList<>();
    int unanswered = 0; // tasks before it are answered, also when commitGroup or runOp throws
    try {
      for (int i = 0; i < tasks.size(); i++) {
        Task t = tasks.get(i);
        if (t instanceof PushTask p) {
          group.add(p);
          continue;
        }
        unanswered = i;
        commitGroup(group);
        group.clear();
        if (t == STOP) {
          // work queued before close() is finished, so an acked-or-not push is never half-done nor
          // left unanswered: what came after STOP in this take (a push that raced close()), then
          // what is still queued, in order; that call answers all of it, a fatal error included
          unanswered = i + 1;
          List<Task> rest = new ArrayList<>(tasks.subList(i + 1, tasks.size()));
          unanswered = tasks.size(); // rest holds them now
          try {
            queue.drainTo(rest);
          } catch (VirtualMachineError fatal) { // what was drained is in rest only
            fail(rest, new OverloadedException("the writer stopped: " + fatal));
            throw fatal;
          }
          process(rest);
          return true;
        }
        unanswered = i + 1;
        runOp((OpTask<?>) t);
      }
      unanswered = tasks.size();
      commitGroup(group);
      return false;
    } catch (VirtualMachineError fatal) {
      fail(tasks.subList(unanswered, tasks.size()), new OverloadedException("the writer stopped: " + fatal));
      throw fatal;
    }
  }

  private void commitGroup(List<PushTask> group) {
    if (group.isEmpty()) return;
    List<WriteBatch> batches = new ArrayList<>(group.size());
    int weight = 0;
    long bytes = 0;
    for (PushTask p : group) {
      batches.add(p.batch);
      weight += p.weight;
      bytes += p.bytes;
    }
    long started = System.nanoTime();
    List<BatchOutcome> outcomes;
    try {
      outcomes = store.commit(batches);
    } catch (RuntimeException | Error e) {
      log.error("group commit of {} pushes failed; none of it is stored", group.size(), e);
      queuedDeltas.addAndGet(-weight);
      queuedBytes.addAndGet(-bytes);
      completeAll(group, null, e);
      if (e instanceof VirtualMachineError fatal) throw fatal; // out of memory: stop, answering what waits
      return;
    }
    queuedDeltas.addAndGet(-weight);
    queuedBytes.addAndGet(-bytes);
    stats.recordGroup(group.size(), weight, System.nanoTime() - started, store.lastCommitSyncNanos());
    // the listener first: whoever is acked must find the change already published (e.g. a new policy)
    publish(outcomes);
    completeAll(group, outcomes, null);
  }

  private void publish(List<BatchOutcome> outcomes) {
    try {
      listener.committed(outcomes);
    } catch (RuntimeException | Error e) {
      // what was committed is durable: pushes are answered as committed whatever went wrong here
      log.error("commit listener failed", e);
    }
  }

  /** Completes each push's future on its own context, one task per context. */
  private void completeAll(List<PushTask> group, List<BatchOutcome> outcomes, Throwable failure) {
    Map<Context, List<Runnable>> byContext = new IdentityHashMap<>();
    for (int i = 0; i < group.size(); i++) {
      PushTask p = group.get(i);
      Runnable r = failure != null ? () -> p.promise.fail(failure) : complete(p.promise, outcomes.get(i));
      if (p.context == null) r.run();
      else byContext.computeIfAbsent(p.context, c -> new ArrayList<>()).add(r);
    }
    byContext.forEach((ctx, runs) -> ctx.runOnContext(v -> runs.forEach(Runnable::run)));
  }

  private static Runnable complete(Promise<BatchOutcome> promise, BatchOutcome outcome) {
    return () -> promise.complete(outcome);
  }

  private <T> void runOp(OpTask<T> t) {
    T result;
    try {
      result = t.op.apply(store);
    } catch (RuntimeException | Error e) { // an Error too: the op is answered, and the writer goes on unless it must stop
      log.error("store operation failed", e);
      deliver(t.context, () -> t.promise.fail(e));
      if (e instanceof VirtualMachineError fatal) throw fatal;
      return;
    }
    deliver(t.context, () -> t.promise.complete(result));
  }

  private static void deliver(Context ctx, Runnable r) {
    if (ctx == null) r.run();
    else ctx.runOnContext(v -> r.run());
  }

  /** Cleans the log step by step while no push waits; one step per group while busy (see the class's doc). */
  private void cleanLog() {
    long now = System.nanoTime();
    if (now - cleaningPausedUntil < 0 || (!queue.isEmpty() && now - nextBusyCleanAt < 0)) return;
    try {
      do { // busy: this one step; idle: step after step until a push waits or nothing is left
        long started = System.nanoTime();
        Store.Cleaning step = store.cleanLog(CLEAN_STEP_NANOS);
        long ended = System.nanoTime();
        if (step != Store.Cleaning.PART_OF_A_FILE) nextBusyCleanAt = ended + BUSY_CLEAN_INTERVAL_NANOS; // a busy writer asks again later
        if (step == Store.Cleaning.NOTHING) return;
        stats.recordClean(ended - started, step == Store.Cleaning.FILE_CLEANED);
      } while (queue.isEmpty());
    } catch (RuntimeException e) {
      cleaningPausedUntil = now + TimeUnit.SECONDS.toNanos(10);
      log.warn("cleaning the store's log failed; tried again in 10 s", e);
    }
  }

  /**
   * Busy ({@code idle} false): sweeps until fewer than {@link #SWEEP_BACKLOG} entries wait, however
   * many the last group superseded, so the backlog stays bounded under any load. Idle: sweeps
   * everything, until a push waits.
   */
  private void sweepLog(boolean idle) {
    long now = System.nanoTime();
    if (now - sweepingPausedUntil < 0) return;
    try {
      while (true) {
        long waiting = store.staleLogEntries();
        if (idle ? waiting == 0 || !queue.isEmpty() : waiting < SWEEP_BACKLOG) return;
        long started = System.nanoTime();
        int n = store.sweepLog(SWEEP_BATCH);
        if (n == 0) return;
        stats.recordSweep(n, System.nanoTime() - started);
      }
    } catch (RuntimeException e) {
      sweepingPausedUntil = now + TimeUnit.SECONDS.toNanos(10);
      log.warn("sweeping superseded log entries failed; tried again in 10 s", e);
    }
  }

  private void purgeIfDue() {
    long now = System.currentTimeMillis();
    if (options.tombstoneRetentionMs() <= 0 || now < nextPurgeAt) return;
    nextPurgeAt = now + options.purgeIntervalMs();
    long cutoff = now - options.tombstoneRetentionMs();
    // a destroyed document's $deleted stays a retention longer than its values: it is committed
    // again when they go, and goes itself once that commit is older than the retention, and its
    // stamp older than two (Store#purgeTombstones)
    long destroyedCutoff = cutoff - options.tombstoneRetentionMs();
    try {
      store.noteHeads(now, Math.max(options.purgeIntervalMs(), options.tombstoneRetentionMs() / 64), cutoff);
    } catch (RuntimeException e) {
      log.error("recording commit times failed", e);
    }
    for (var db : store.databases()) {
      // $system keeps its tombstones: a deleted user's retires the name for good (its documents
      // and grants still name it), a removed policy's keeps an old grant from coming back. Few.
      if (db.name().startsWith("$")) continue;
      try {
        // committed longer ago than the retention, not only stamped so: a removal stamped a month
        // ago may be committed now, and subscribers behind since before it must still get it
        long horizon = Math.min(purgeHorizon.applyAsLong(db.name()), store.headCommittedBy(db.name(), cutoff));
        if (horizon <= 0) continue;
        PurgeOutcome step = store.purge(db.name(), cutoff, horizon, destroyedCutoff, horizon, options.purgeBatchEntries());
        if (step.removed() > 0) log.info("purged {} tombstones from {}", step.removed(), db.name());
        if (!step.recommitted().committed().isEmpty()) publish(List.of(step.recommitted()));
      } catch (RuntimeException e) {
        log.error("tombstone purge of {} failed", db.name(), e);
      }
    }
  }
}
