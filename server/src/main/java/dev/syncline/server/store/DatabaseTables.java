package dev.syncline.server.store;

import java.util.Set;
import jetbrains.exodus.env.Store;

/** One database's Xodus stores, and what the last commit published of it. */
final class DatabaseTables {
  /** Registers and document entries ({@link Layout#isDocumentKey}). */
  final Store registers;
  final Store log;
  /** Log entries superseded but not yet deleted: every reader of {@link #log} skips them. */
  final StaleEntries stale;
  /** Collections kept on this server only: left out of the digest and of repairs. */
  private final Set<String> localCollections;
  volatile DatabaseInfo info;
  /** Replaced after each commit that changed it, never changed in place: readers may hold it. */
  volatile long[] digest;
  /** Writer thread only: the seq the next purge step starts after. */
  long purgeAfter;

  DatabaseTables(Store registers, Store log, StaleEntries stale, Set<String> localCollections, DatabaseInfo info, long[] digest) {
    this.registers = registers;
    this.log = log;
    this.stale = stale;
    this.localCollections = localCollections;
    this.info = info;
    this.digest = digest;
  }

  boolean isLocal(String col) {
    return localCollections.contains(col);
  }
}
