package dev.syncline.bench;

import java.util.Arrays;
import java.util.List;

/**
 * Recorded latencies in nanoseconds. Every sample is kept (a few million longs at most) and
 * percentiles are exact, taken from the sorted samples. Not thread-safe: one recorder per event
 * loop or connection, merged at the end.
 */
final class Latencies {
  private long[] samples = new long[1024];
  private int count;

  void record(long nanos) {
    if (count == samples.length) samples = Arrays.copyOf(samples, samples.length * 2);
    samples[count++] = nanos;
  }

  int count() {
    return count;
  }

  static Latencies merge(List<Latencies> parts) {
    Latencies all = new Latencies();
    int n = 0;
    for (Latencies p : parts) n += p.count;
    all.samples = new long[Math.max(1, n)];
    for (Latencies p : parts) {
      System.arraycopy(p.samples, 0, all.samples, all.count, p.count);
      all.count += p.count;
    }
    return all;
  }

  /** Sorted view of the samples, for percentiles. */
  Summary summarize() {
    long[] sorted = Arrays.copyOf(samples, count);
    Arrays.sort(sorted);
    return new Summary(sorted);
  }

  /** Percentiles of a set of samples, in milliseconds. */
  static final class Summary {
    private final long[] sorted;

    Summary(long[] sorted) {
      this.sorted = sorted;
    }

    int count() {
      return sorted.length;
    }

    /** The sample at quantile {@code q} (nearest rank), in ms; 0 when there are none. */
    double ms(double q) {
      if (sorted.length == 0) return 0;
      int rank = (int) Math.ceil(q * sorted.length) - 1;
      return sorted[Math.max(0, Math.min(sorted.length - 1, rank))] / 1e6;
    }

    double maxMs() {
      return sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6;
    }

    double meanMs() {
      if (sorted.length == 0) return 0;
      double sum = 0;
      for (long s : sorted) sum += s;
      return sum / sorted.length / 1e6;
    }
  }
}
