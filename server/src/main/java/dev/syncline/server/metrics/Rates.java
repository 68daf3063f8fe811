package dev.syncline.server.metrics;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Per-second rates of counters that only grow (deltas committed, bytes received, …), over the
 * last few seconds, for {@code server.stats}. The owner calls {@link #sample} about once a second
 * (a timer), so every reader sees the same figures however often it asks, and a rate needs no
 * state kept per reader.
 */
public final class Rates {
  /** Samples a rate spans, one a second: a short window, so the figure is live, yet one busy second does not read as a spike. */
  private static final int WINDOW = 3;

  private record Sample(long atNanos, long[] values) {}

  private final List<String> names;
  private final LongSupplier[] counters;
  /** Oldest first; guarded by {@code this}. */
  private final Deque<Sample> samples = new ArrayDeque<>();

  /** {@code counters}: name → a counter that only grows; read on the sampling thread. */
  public Rates(Map<String, LongSupplier> counters) {
    Map<String, LongSupplier> copy = new LinkedHashMap<>(counters);
    this.names = List.copyOf(copy.keySet());
    this.counters = copy.values().toArray(LongSupplier[]::new);
  }

  /** Reads every counter now. */
  public void sample() {
    sample(System.nanoTime());
  }

  synchronized void sample(long nowNanos) {
    long[] values = new long[counters.length];
    for (int i = 0; i < values.length; i++) values[i] = counters[i].getAsLong();
    samples.addLast(new Sample(nowNanos, values));
    while (samples.size() > WINDOW + 1) samples.removeFirst();
  }

  /**
   * The counter's mean increase per second between the oldest and the newest sample, to two
   * decimals; 0 before two samples.
   */
  public synchronized double perSecond(String name) {
    int i = names.indexOf(name);
    if (i < 0) throw new IllegalArgumentException("no counter " + name);
    if (samples.size() < 2) return 0;
    Sample first = samples.getFirst();
    Sample last = samples.getLast();
    long nanos = last.atNanos() - first.atNanos();
    if (nanos <= 0) return 0;
    return Math.round((last.values()[i] - first.values()[i]) * 1e11 / nanos) / 100.0;
  }
}
