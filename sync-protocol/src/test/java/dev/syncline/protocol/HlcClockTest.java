package dev.syncline.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class HlcClockTest {
  private static final long T = 1_732_212_345_678L;

  @Test
  @DisplayName("a clock refuses an origin that could not be written in a timestamp")
  void refusesBadOrigin() {
    assertThrows(IllegalArgumentException.class, () -> new HlcClock(""));
    assertThrows(IllegalArgumentException.class, () -> new HlcClock("has space"));
    assertThrows(IllegalArgumentException.class, () -> new HlcClock("x".repeat(65)));
    assertEquals("c1", new HlcClock("c1").origin());
  }

  @Test
  @DisplayName("tick stamps with the writer's origin and the wall clock when it moved")
  void tickUsesWallClock() {
    AtomicLong now = new AtomicLong(T);
    HlcClock clock = new HlcClock("dev-1", now::get);
    assertEquals("1732212345678-0000-dev-1", clock.tick().format());
    now.set(T + 1000);
    assertEquals("1732212346678-0000-dev-1", clock.tick().format());
    assertEquals(new Hlc(T + 1000, 0, "dev-1"), clock.last());
  }

  @Test
  @DisplayName("65536 writes in one millisecond use every counter, then borrow the next millisecond")
  void counterExhaustion() {
    HlcClock clock = new HlcClock("c1", () -> T);
    for (int i = 0; i <= Hlc.MAX_COUNTER; i++) assertEquals(new Hlc(T, i, "c1"), clock.tick());
    assertEquals(new Hlc(T + 1, 0, "c1"), clock.tick());
    assertEquals(new Hlc(T + 1, 1, "c1"), clock.tick());
  }

  @Test
  @DisplayName("the default clock follows the system clock")
  void systemClock() {
    long before = System.currentTimeMillis();
    Hlc h = new HlcClock("c1").tick();
    assertTrue(h.ms() >= before && h.ms() <= System.currentTimeMillis(), h.toString());
  }

  /**
   * Property: under a wall clock that jumps back and forth and remote timestamps from the past and
   * future, every tick is greater than every timestamp issued or received before it, is at least
   * the wall clock, and is never further ahead than it needs to be.
   */
  @Test
  @DisplayName("every tick orders after everything the clock issued or received (as an Hlc or as its string), under a random wall clock")
  void ticksOrderAfterEverythingSeen() {
    long seed = Long.getLong("syncline.seed", new Random().nextLong()); // -Dsyncline.seed=N replays a run
    Random random = new Random(seed);
    for (int round = 0; round < 200; round++) {
      AtomicLong now = new AtomicLong(T);
      HlcClock clock = new HlcClock("me", now::get);
      Hlc greatest = null; // the greatest timestamp issued or received so far
      long floor = 0; // the least (ms) a tick may have: the wall clock or what was seen
      for (int step = 0; step < 300; step++) {
        String why = "seed " + seed + ", round " + round + ", step " + step;
        now.addAndGet(random.nextInt(5) - 2 + (random.nextInt(50) == 0 ? -10_000 : 0));
        if (random.nextInt(4) == 0) {
          long ms = now.get() + random.nextInt(2001) - 1000;
          int counter = random.nextInt(10) == 0 ? Hlc.MAX_COUNTER - random.nextInt(2) : random.nextInt(4);
          Hlc seen = new Hlc(ms, counter, random.nextBoolean() ? "zz" : "aa");
          if (random.nextBoolean()) clock.receive(seen);
          else clock.receive(seen.format()); // as a server receives a decoded delta's ts
          if (greatest == null || seen.compareTo(greatest) > 0) greatest = seen;
        } else {
          Hlc h = clock.tick();
          assertEquals("me", h.origin(), why);
          if (greatest != null) assertTrue(h.compareTo(greatest) > 0, why + ": " + h + " after " + greatest);
          assertTrue(h.ms() >= now.get(), why + ": " + h + " at wall clock " + now.get());
          long needed = Math.max(now.get(), greatest == null ? 0 : greatest.ms());
          assertTrue(h.ms() <= needed + 1, why + ": " + h + " runs ahead of " + needed);
          greatest = h;
        }
      }
    }
  }

  @Test
  @DisplayName("ticks from many threads are all distinct")
  void threadSafe() throws Exception {
    HlcClock clock = new HlcClock("c1", () -> T); // one millisecond forever: the counter does all the work
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Callable<List<Hlc>>> tasks = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        tasks.add(() -> {
          List<Hlc> out = new ArrayList<>();
          for (int i = 0; i < 20_000; i++) out.add(clock.tick());
          return out;
        });
      }
      Set<Hlc> all = new HashSet<>();
      for (Future<List<Hlc>> f : pool.invokeAll(tasks)) all.addAll(f.get());
      assertEquals(80_000, all.size());
      assertEquals(new Hlc(T + 1, 80_000 - 65_536 - 1, "c1"), clock.last());
    } finally {
      pool.shutdownNow();
    }
  }
}
