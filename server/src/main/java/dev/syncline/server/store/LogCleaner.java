package dev.syncline.server.store;

import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.EnvironmentImpl;
import jetbrains.exodus.gc.GarbageCollector;

/**
 * Cleans the store's log (copies what is still live out of mostly-garbage {@code .xd} files, which
 * are then deleted) on the writer thread, one file per call, instead of in Xodus's background cleaner.
 *
 * <p>Why: the background cleaner wakes every few seconds and cleans file after file, each in an
 * exclusive transaction, and the writer waiting for its own exclusive transaction does not get in
 * between them: at 500 small commits/s no commit happened for 60–70 ms at a time, and every
 * delivery in that window was late. Called by the writer between groups, a file's cleaning can
 * only delay the pushes that arrive during it, and the writer chooses when: while nothing waits.
 *
 * <p>The background cleaner is kept suspended; its thread still deletes cleaned files after
 * Xodus's delay. A backup suspends and then resumes it ({@code BackupStrategy}); while one runs no
 * file is cleaned here, and when it ends the background cleaner is suspended again.
 *
 * <p>Uses three Kotlin-internal members of Xodus 2.0.1 ({@code isTooMuchFreeSpace},
 * {@code getFilesSortedByUtilization}, {@code estimateTotalBytes}), public in its bytecode, so that files are chosen exactly as
 * the background cleaner chooses them: only while less of the log is live than its minimum
 * utilization ({@code storeMinUtilization}, half by default), most garbage first, never the
 * newest files.
 *
 * <p>Each file cleaned changes Xodus's utilization profile (free bytes per file). Marked dirty,
 * the whole profile, an entry per file, is rewritten by the next commit: with thousands of files
 * that made every commit after a cleaning several times dearer (22% of the writer after 14 M new
 * documents). Xodus's own cleaner marks it once per cleaning cycle; here it is marked at most every
 * {@link #PROFILE_SAVE_INTERVAL_NANOS}. The profile only guides which file is cleaned next, so one
 * saved a little late costs nothing but a less exact choice after a crash.
 */
final class LogCleaner {
  static final long PROFILE_SAVE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(30);

  private final EnvironmentImpl env;
  private final LongSupplier nanoTime;
  /** Backups running; guarded by this. */
  private int backups;
  /** Files cleaned since the profile was last marked for saving; guarded by this. */
  private boolean cleanedSinceMarked;
  private long markedAt;

  LogCleaner(Environment env) {
    this(env, System::nanoTime);
  }

  LogCleaner(Environment env, LongSupplier nanoTime) {
    this.env = (EnvironmentImpl) env;
    this.nanoTime = nanoTime;
    this.markedAt = nanoTime.getAsLong() - PROFILE_SAVE_INTERVAL_NANOS;
    env.suspendGC();
  }

  /** Cleans one file if too little of the log is live; true if it did (call again for the next). */
  synchronized boolean cleanOne() {
    if (backups > 0) return false;
    GarbageCollector gc = env.getGC();
    boolean cleaned = false;
    if (gc.isTooMuchFreeSpace$xodus_environment()) {
      Iterator<Long> files = gc.getUtilizationProfile().getFilesSortedByUtilization$xodus_environment(env.getLog().getHighFileAddress());
      cleaned = files.hasNext() && gc.doCleanFile(files.next());
      cleanedSinceMarked |= cleaned;
    }
    markProfileIfDue();
    return cleaned;
  }

  /**
   * After a transaction that made much garbage at once (a sweep of the change log): Xodus counts
   * the free bytes per file at once, but updates the share of the whole log that is live only
   * when it starts a log file, so without this the garbage would go unseen until then.
   */
  void garbageMade() {
    env.getGC().getUtilizationProfile().estimateTotalBytes$xodus_environment();
  }

  /** Marks the utilization profile for saving with the next commit, at most once an interval. */
  private void markProfileIfDue() {
    long now = nanoTime.getAsLong();
    if (!cleanedSinceMarked || now - markedAt < PROFILE_SAVE_INTERVAL_NANOS) return;
    env.getGC().getUtilizationProfile().setDirty(true);
    cleanedSinceMarked = false;
    markedAt = now;
  }

  /** A backup begins: waits for a file being cleaned, then cleans none until it ends. */
  synchronized void backupStarted() {
    backups++;
  }

  /** A backup ended: its strategy resumed the background cleaner, which is suspended again. */
  synchronized void backupEnded() {
    backups--;
    env.suspendGC();
  }
}
