package dev.syncline.server.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Rates: per-second figures of growing counters over the last few samples")
class RatesTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  @DisplayName("a rate is the increase between the oldest and newest sample kept, per second; 0 before two samples")
  void meanOverTheWindow() {
    AtomicLong deltas = new AtomicLong();
    Rates rates = new Rates(Map.of("deltas", deltas::get));
    assertEquals(0, rates.perSecond("deltas"));
    rates.sample(0);
    assertEquals(0, rates.perSecond("deltas"));
    deltas.set(30);
    rates.sample(SECOND);
    assertEquals(30, rates.perSecond("deltas"));
    deltas.set(40);
    rates.sample(2 * SECOND);
    assertEquals(20, rates.perSecond("deltas"));
  }

  @Test
  @DisplayName("old samples fall out of the window, so a quiet server reads 0 again within seconds")
  void forgetsOldSamples() {
    AtomicLong groups = new AtomicLong();
    Rates rates = new Rates(Map.of("groups", groups::get));
    rates.sample(0);
    groups.set(1000);
    for (int s = 1; s <= 10; s++) rates.sample(s * SECOND);
    assertEquals(0, rates.perSecond("groups"));
  }

  @Test
  @DisplayName("figures have two decimals, and an unknown name is a bug")
  void roundingAndNames() {
    AtomicLong pushes = new AtomicLong();
    Rates rates = new Rates(Map.of("pushes", pushes::get));
    rates.sample(0);
    pushes.set(1);
    rates.sample(3 * SECOND);
    assertEquals(0.33, rates.perSecond("pushes"));
    assertThrows(IllegalArgumentException.class, () -> rates.perSecond("nope"));
  }
}
