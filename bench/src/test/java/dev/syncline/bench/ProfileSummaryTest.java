package dev.syncline.bench;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import jdk.jfr.Recording;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class ProfileSummaryTest {
  @Test
  @DisplayName("--from and --to keep only the samples taken in that window")
  void window() throws Exception {
    Path file = Files.createTempFile("profile-summary", ".jfr");
    long between;
    try (Recording r = new Recording()) {
      r.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10));
      r.start();
      spin("busy-before");
      // JFR stamps samples with its own clock, a few ms off System.currentTimeMillis: an idle gap
      // either side of the boundary keeps each thread's samples on its own side
      Thread.sleep(100);
      between = System.currentTimeMillis();
      Thread.sleep(100);
      spin("busy-after");
      r.stop();
      r.dump(file);
    }
    try {
      String whole = summary(file, Long.MIN_VALUE, Long.MAX_VALUE);
      assertTrue(whole.contains("busy-before") && whole.contains("busy-after"), whole);
      String early = summary(file, Long.MIN_VALUE, between);
      assertTrue(early.contains("busy-before") && !early.contains("busy-after"), early);
      String late = summary(file, between, Long.MAX_VALUE);
      assertTrue(late.contains("busy-after") && !late.contains("busy-before"), late);
      assertFalse(summary(file, between + 60_000, Long.MAX_VALUE).contains("busy-"), "a window after the recording has no samples");
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static String summary(Path file, long from, long to) throws Exception {
    ProfileSummary s = new ProfileSummary();
    s.file = file;
    s.fromEpochMs = from;
    s.toEpochMs = to;
    s.read();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    s.print(new PrintStream(out, true, StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }

  /** Keeps a thread of that name on a CPU for 400 ms, so the sampler sees it. */
  private static void spin(String name) throws InterruptedException {
    Thread t = new Thread(() -> {
      long end = System.nanoTime() + 400_000_000L;
      StringBuilder work = new StringBuilder();
      while (System.nanoTime() < end) {
        work.setLength(0);
        for (int i = 0; i < 100; i++) work.append(i * 31).append(',');
        if (work.toString().hashCode() == 42) System.out.print(""); // keeps the work from being optimised away
      }
    }, name);
    t.start();
    t.join();
  }
}
