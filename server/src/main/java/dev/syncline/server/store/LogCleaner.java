package dev.syncline.server.store;

import java.util.Iterator;
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
 * <p>Uses two Kotlin-internal members of Xodus 2.0.1 ({@code isTooMuchFreeSpace},
 * {@code getFilesSortedByUtilization}), public in its bytecode, so that files are chosen exactly as
 * the background cleaner chooses them: only while less of the log is live than its minimum
 * utilization ({@code storeMinUtilization}, half by default), most garbage first, never the
 * newest files.
 */
final class LogCleaner {
  private final EnvironmentImpl env;
  /** Backups running; guarded by this. */
  private int backups;

  LogCleaner(Environment env) {
    this.env = (EnvironmentImpl) env;
    env.suspendGC();
  }

  /** Cleans one file if too little of the log is live; true if it did (call again for the next). */
  synchronized boolean cleanOne() {
    if (backups > 0) return false;
    GarbageCollector gc = env.getGC();
    if (!gc.isTooMuchFreeSpace$xodus_environment()) return false;
    Iterator<Long> files = gc.getUtilizationProfile().getFilesSortedByUtilization$xodus_environment(env.getLog().getHighFileAddress());
    if (!files.hasNext()) return false;
    boolean cleaned = gc.doCleanFile(files.next());
    if (cleaned) gc.getUtilizationProfile().setDirty(true); // saved with a later commit, as the background cleaner leaves it
    return cleaned;
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
