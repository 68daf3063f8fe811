package dev.syncline.server.commit;

import java.util.concurrent.atomic.LongAdder;

/** Counters of the writer, for {@code server.stats}. */
public final class CommitStats {
  final LongAdder groups = new LongAdder();
  final LongAdder pushes = new LongAdder();
  final LongAdder deltas = new LongAdder();
  final LongAdder commitNanos = new LongAdder();
  final LongAdder overloaded = new LongAdder();

  void recordGroup(int pushCount, int deltaCount, long nanos) {
    groups.increment();
    pushes.add(pushCount);
    deltas.add(deltaCount);
    commitNanos.add(nanos);
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
}
