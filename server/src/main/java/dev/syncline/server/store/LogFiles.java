package dev.syncline.server.store;

import java.io.File;
import java.nio.file.Path;
import jetbrains.exodus.env.EnvironmentConfig;

/**
 * How big the store's log files (Xodus {@code .xd} files) are, and how they are cleaned.
 *
 * <p>Cleaning a file takes a time that grows with the number of entries in the file, not with the
 * live data it copies: at 500 small commits/s an 8 MB file (Xodus's default) is ~95% garbage and
 * still took 40–170 ms, during which no write committed. Small files kept each pause to a few ms
 * while a file was cleaned in one transaction; now {@link LogCleaner} cleans in steps of about a
 * millisecond whatever the file's size. New stores get 512 KB: since digests are written in chunks
 * ({@link DigestTable}) a small commit writes 43% fewer bytes for as many entries, so a 512 KB file
 * holds about as many entries as a 1 MB file did before.
 *
 * <p>Xodus fixes a log's file size for its life and refuses to open it with another, so a store
 * made with 8 MB or 1 MB files keeps them.
 */
final class LogFiles {
  /** Kilobytes per log file of a new store. */
  static final long NEW_FILE_KB = 512;
  /** Kilobytes per log file of stores made before, smallest first: 1 MB, and before that Xodus's default. */
  private static final long[] EARLIER_FILE_KB = {1024, 8192};

  private LogFiles() {}

  /** Sets the file size {@code dir}'s log has or, for a new store, gets, and one file per cleaner transaction. */
  static EnvironmentConfig configure(EnvironmentConfig config, Path dir) {
    return config.setLogFileSize(fileKb(dir))
        // the cleaner takes more files into one transaction until this many ms have passed: 1 means one file
        .setGcTransactionTimeout(1);
  }

  /**
   * The file size of the log in {@code dir}: every file but the last is full, so with two or more
   * files the largest is the size; a single file is read as of the smallest size that holds it (a
   * file shorter than its store's size reads the same under a larger one: addresses are offsets
   * in the whole log, so the next file simply starts sooner).
   */
  static long fileKb(Path dir) {
    File[] files = dir.toFile().listFiles((d, name) -> name.endsWith(".xd"));
    if (files == null || files.length == 0) return NEW_FILE_KB;
    long largest = 0;
    for (File f : files) largest = Math.max(largest, f.length());
    if (files.length > 1) return largest / 1024;
    if (largest <= NEW_FILE_KB * 1024) return NEW_FILE_KB;
    for (long kb : EARLIER_FILE_KB) if (largest <= kb * 1024) return kb;
    return EARLIER_FILE_KB[EARLIER_FILE_KB.length - 1];
  }
}
