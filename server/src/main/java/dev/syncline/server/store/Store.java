package dev.syncline.server.store;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Durable storage of databases as attribute registers plus a compacted change log. This is the
 * server's only view of storage: the rest of the server does not know which engine is behind it.
 *
 * <p>Writes ({@link #commit}, {@link #createDatabase}, {@link #destroyDatabase}) are made by one
 * thread only, the committer. Reads work from any thread on a consistent snapshot and never
 * wait for the writer.
 */
public interface Store extends AutoCloseable {

  /**
   * Opens (creating when absent) a Xodus store in {@code dir}. {@code cacheBytes} bounds the
   * engine's page cache; 0 lets it take a quarter of the heap.
   */
  static Store openXodus(Path dir, boolean durable, long cacheBytes) {
    return new XodusStore(dir, durable, cacheBytes);
  }

  // ---- writer side: the committer thread only ----

  /**
   * Merges every batch in one transaction, assigning the next seq of its database to each delta
   * that wins. Returns one outcome per batch, in order. Throws when the transaction could not be
   * made durable, in which case nothing of it is stored.
   */
  List<BatchOutcome> commit(List<WriteBatch> batches);

  /** Creates a database; returns empty when it exists already. */
  Optional<DatabaseInfo> createDatabase(String db, long createdAtMs);

  /** Removes a database and all its data; false when there was none. */
  boolean destroyDatabase(String db);

  /**
   * Removes tombstones (registers whose value is null, and documents destroyed by
   * {@code $deleted = true} with nothing written since) older than {@code olderThanMs}, visiting
   * at most {@code maxEntries} log entries from the oldest. Returns the number removed; cursors
   * below the database's new {@link DatabaseInfo#purgedThrough()} then need a full resync.
   */
  int purgeTombstones(String db, long olderThanMs, int maxEntries);

  // ---- readers: any thread ----

  /**
   * Up to {@code maxDeltas} changes (and about {@code maxBytes}) with seq above {@code afterSeq},
   * in seq order, of the given collections (null: all), read from one snapshot.
   */
  ChangePage changesSince(String db, Set<String> cols, ReadFilter filter, long afterSeq, int maxDeltas, int maxBytes);

  /** {@link #changesSince(String, Set, ReadFilter, long, int, int)} for a reader that may see everything. */
  default ChangePage changesSince(String db, Set<String> cols, long afterSeq, int maxDeltas, int maxBytes) {
    return changesSince(db, cols, null, afterSeq, maxDeltas, maxBytes);
  }

  /** Every stored register of one collection, with its value and seq, from one snapshot. For small collections. */
  List<dev.syncline.protocol.Delta> registers(String db, String col);

  Optional<DatabaseInfo> database(String db);

  List<DatabaseInfo> databases();

  /** Bytes the store takes on disk. */
  long diskBytes();

  @Override
  void close();
}
