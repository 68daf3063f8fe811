package dev.syncline.server.commit;

import java.util.concurrent.atomic.LongAdder;

/** Counters of the writer, for {@code server.stats}, and a hook that sees every group commit. */
public final class CommitStats {
  /** Told of every group commit, on the writer thread: keep it quick. */
  @FunctionalInterface
  public interface GroupObserver {
    void committed(int deltas, long nanos, long syncNanos);
  }

  private volatile GroupObserver observer = (deltas, nanos, syncNanos) -> {};
  final LongAdder groups = new LongAdder();
  final LongAdder pushes = new LongAdder();
  final LongAdder deltas = new LongAdder();
  final LongAdder commitNanos = new LongAdder();
  final LongAdder overloaded = new LongAdder();
  final LongAdder logFilesCleaned = new LongAdder();
  final LongAdder cleanNanos = new LongAdder();
  final LongAdder logEntriesSwept = new LongAdder();
  final LongAdder sweepNanos = new LongAdder();

  void recordGroup(int pushCount, int deltaCount, long nanos, long syncNanos) {
    groups.increment();
    pushes.add(pushCount);
    deltas.add(deltaCount);
    commitNanos.add(nanos);
    observer.committed(deltaCount, nanos, syncNanos);
  }

  /** A step of cleaning the store's log that took {@code nanos}; {@code finishedFile} if it finished a file. */
  void recordClean(long nanos, boolean finishedFile) {
    if (finishedFile) logFilesCleaned.increment();
    cleanNanos.add(nanos);
  }

  void recordSweep(int entries, long nanos) {
    logEntriesSwept.add(entries);
    sweepNanos.add(nanos);
  }

  public void observe(GroupObserver o) {
    observer = o;
  }

  public long groups() {
    return groups.sum();
  }

  public long pushes() {
    return pushes.sum();
  }

  public long deltas() {
    return deltas.sum();
  }

  /** Mean time of one group transaction, commit and fsync included, in microseconds. */
  public double meanCommitMicros() {
    long g = groups.sum();
    return g == 0 ? 0 : commitNanos.sum() / 1000.0 / g;
  }

  public long overloadedRejections() {
    return overloaded.sum();
  }

  /** Store log files the writer cleaned ({@link dev.syncline.server.store.Store#cleanLog}). */
  public long logFilesCleaned() {
    return logFilesCleaned.sum();
  }

  /** Time the writer spent cleaning log files, in milliseconds: time in which nothing committed. */
  public long cleanMillis() {
    return cleanNanos.sum() / 1_000_000;
  }

  /** Superseded log entries the writer deleted ({@link dev.syncline.server.store.Store#sweepLog}). */
  public long logEntriesSwept() {
    return logEntriesSwept.sum();
  }

  /** Time the writer spent sweeping, in milliseconds: time in which nothing committed. */
  public long sweepMillis() {
    return sweepNanos.sum() / 1_000_000;
  }
}
