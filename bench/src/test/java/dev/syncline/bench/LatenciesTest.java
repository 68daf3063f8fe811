package dev.syncline.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class LatenciesTest {
  @Test
  @DisplayName("percentiles are nearest-rank over all merged samples, in milliseconds")
  void percentiles() {
    Latencies a = new Latencies();
    Latencies b = new Latencies();
    for (int i = 1; i <= 5000; i++) a.record(i * 1_000_000L);
    for (int i = 5001; i <= 10_000; i++) b.record(i * 1_000_000L);
    Latencies.Summary s = Latencies.merge(List.of(b, a)).summarize();
    assertEquals(10_000, s.count());
    assertEquals(5000, s.ms(0.50), 1e-9);
    assertEquals(9900, s.ms(0.99), 1e-9);
    assertEquals(10_000, s.maxMs(), 1e-9);
    assertEquals(1, s.ms(0), 1e-9);
  }

  @Test
  @DisplayName("no samples give zeros, not an exception")
  void empty() {
    Latencies.Summary s = new Latencies().summarize();
    assertEquals(0, s.ms(0.99), 0);
    assertEquals(0, s.maxMs(), 0);
  }
}
