package dev.syncline.server.store;

import java.nio.file.Path;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Durable storage of databases as attribute registers plus a compacted change log. This is the
 * server's only view of storage: the rest of the server does not know which engine is behind it.
 *
 * <p>Writes ({@link #commit}, {@link #createDatabase}, {@link #destroyThrough}, purges, peer
 * acks) are made by one thread only, the committer. Reads work from any thread on a consistent
 * snapshot and never wait for the writer.
 */
public interface Store extends AutoCloseable {

  /** How far {@link #renewEpochs} moves seqs on: more than a lost stretch of history can have held. */
  long EPOCH_SEQ_GAP = 1L << 32;

  /**
   * How many seqs lie above {@code from} up to {@code to}, not counting the gaps {@link #renewEpochs}
   * leaves: a history between two seqs never holds a whole gap's worth.
   */
  static long seqsBetween(long from, long to) {
    return Math.max(0, to - from) % EPOCH_SEQ_GAP;
  }

  /** Percentage of the log that must be live for {@link #cleanLog} to leave it be: Xodus's default. */
  int DEFAULT_MIN_UTILIZATION = 50;

  /**
   * Opens (creating when absent) a Xodus store in {@code dir}. {@code cacheBytes} bounds the
   * engine's page cache; 0 lets it take a quarter of the heap. Log files are cleaned while less
   * than {@code minUtilization} percent of the log is live. {@code localCollections} maps a
   * database to collections that belong to this server alone: they are left out of its digest.
   */
  static Store openXodus(Path dir, boolean durable, long cacheBytes, int minUtilization,
      Map<String, Set<String>> localCollections) {
    return openXodus(dir, durable, cacheBytes, minUtilization, localCollections, true);
  }

  /**
   * As above; with {@code upgrade} false, a store written in an older format is refused
   * ({@link StoreFormatException}) rather than upgraded in place, after which older servers
   * refuse it: for commands that only look at a stopped server's folder.
   */
  static Store openXodus(Path dir, boolean durable, long cacheBytes, int minUtilization,
      Map<String, Set<String>> localCollections, boolean upgrade) {
    return new XodusStore(dir, durable, cacheBytes, minUtilization, localCollections, upgrade);
  }

  static Store openXodus(Path dir, boolean durable, long cacheBytes) {
    return openXodus(dir, durable, cacheBytes, DEFAULT_MIN_UTILIZATION, Map.of());
  }

  // ---- writer side: the committer thread only ----

  /**
   * Merges every batch in one transaction, assigning the next seq of its database to each delta
   * that wins, and stores the peer cursors the batches carry. Returns one outcome per batch, in
   * order. Throws when the transaction could not be made durable, in which case nothing of it is stored.
   */
  List<BatchOutcome> commit(List<WriteBatch> batches);

  /**
   * How long the last {@link #commit} spent making its transaction durable (writing it out and,
   * when durable, the fsync), in nanoseconds.
   */
  long lastCommitSyncNanos();

  /** Creates a database; returns empty when it exists already. */
  Optional<DatabaseInfo> createDatabase(String db, long createdAtMs);

  /**
   * Destroys a database as of the HLC timestamp {@code ts}: every register written at or before
   * it is removed, and from now on any delta stamped at or before it is superseded, also when the
   * database is created again. Registers written after {@code ts} (elsewhere, concurrently) stay.
   * All at once: for stores that serve nobody yet, and tests.
   */
  default DestroyOutcome destroyThrough(String db, String ts) {
    DestroyOutcome o;
    do {
      o = destroyStep(db, ts, DESTROY_STEP_REGISTERS);
    } while (o == DestroyOutcome.MORE);
    return o;
  }

  /** Registers a {@link #destroyStep} removes at most, in one transaction. */
  int DESTROY_STEP_REGISTERS = 20_000;

  /**
   * One step of {@link #destroyThrough}, each its own transaction, so that commits go on between
   * steps: {@link DestroyOutcome#MORE} until it is done. Deltas stamped at or before {@code ts} are
   * superseded from the first step on; the destroy is stored as done only with the last, so one
   * cut short by a stop is carried out again at the next start (see {@link #floor}). A database
   * whose registers are all at or before {@code ts} goes at once; otherwise at most
   * {@code maxRegisters} are removed per step, and the last gives it a new epoch.
   */
  DestroyOutcome destroyStep(String db, String ts, int maxRegisters);

  /**
   * One step of the purge of {@code db}: visits at most {@code maxEntries} log entries after where
   * the previous step stopped (up to seq {@code maxSeq}), removing tombstones — registers whose
   * value is null, and documents destroyed by {@code $deleted = true} with nothing written since —
   * older than {@code olderThanMs}. After the last entry the next step starts over from the
   * oldest. Returns how many it removed and what it committed again; cursors below the database's new
   * {@link DatabaseInfo#purgedThrough()} then need a full resync.
   *
   * <p>A destroyed document goes in two steps. The first removes its other registers and commits
   * its {@code $deleted} again at a new seq (past every cursor, so a client catching up from 0
   * that was sent the document's old values in a page read before this step still gets the
   * {@code $deleted} that hides them). A later step removes the {@code $deleted} once that new seq
   * is at most {@code destroyedMaxSeq} and its timestamp older than {@code destroyedOlderThanMs}
   * (both at most the first pair).
   */
  PurgeOutcome purge(String db, long olderThanMs, long maxSeq, long destroyedOlderThanMs, long destroyedMaxSeq, int maxEntries);

  /** {@link #purge}'s count of registers removed (tests). */
  default int purgeTombstones(String db, long olderThanMs, long maxSeq, long destroyedOlderThanMs, long destroyedMaxSeq,
      int maxEntries) {
    return purge(db, olderThanMs, maxSeq, destroyedOlderThanMs, destroyedMaxSeq, maxEntries).removed();
  }

  /** A purge step with one pair of limits for everything (tests). */
  default int purgeTombstones(String db, long olderThanMs, long maxSeq, int maxEntries) {
    return purgeTombstones(db, olderThanMs, maxSeq, olderThanMs, maxSeq, maxEntries);
  }

  /**
   * Records, for every database, that its current head was committed by {@code nowMs}: a sample
   * at most every {@code everyMs}, kept as long as it answers {@link #headCommittedBy} for times
   * from {@code keepFromMs} on. Stored, so a restart keeps them.
   */
  void noteHeads(long nowMs, long everyMs, long keepFromMs);

  /**
   * The greatest seq of {@code db} known to have been committed at or before {@code timeMs} (by
   * {@link #noteHeads}' samples); 0 if none is known, as for a database younger than that.
   */
  long headCommittedBy(String db, long timeMs);

  /**
   * Records what peers confirmed of this server's databases (see {@link PeerAck}); one of a life
   * of a database this server no longer has is left out. A database's acks, and the cursors into
   * peers' feeds of it, go with it when it is destroyed (but a peer's last ack: it tells, after a
   * restart, that the peer exists).
   */
  void savePeerAcks(Collection<PeerAck> acks);

  /**
   * Stores peer cursors that moved without data (empty frames, {@code synced}); a cursor already
   * stored as far or further, of the same epoch, stays, and one of a database not here is left out.
   */
  void saveCursors(Collection<PeerCursor> cursors);

  /**
   * Forgets everything about a peer (its cursors, its acks, the policy waits for it) and records
   * it as gone for good (see {@link #forgottenPeers}).
   */
  void forgetPeer(String peer);

  /** The peers {@link #forgetPeer} forgot: they may not link again. */
  Set<String> forgottenPeers();

  /** Records that the peer dialed at {@code url} answered as {@code peer}. */
  void saveDialedPeer(String url, String peer);

  /** Each dialed URL's last answer ({@link #saveDialedPeer}): URL → server id. */
  Map<String, String> dialedPeers();

  /**
   * Records that {@code db} waits for {@code peer}'s {@code $system} (of the peer's epoch
   * {@code systemEpoch}) through {@code systemSeq} (its policies there), so that a restart keeps
   * it waiting (see {@code Replication#offered}).
   */
  void savePolicyWait(String db, String peer, String systemEpoch, long systemSeq);

  /** {@code db} waits no more. */
  void dropPolicyWaits(String db);

  /** Every policy wait stored: database, peer, the peer's {@code $system} epoch ("" if stored without) and seq. */
  List<PolicyWaitRecord> policyWaits();

  /** One stored policy wait. */
  record PolicyWaitRecord(String db, String peer, String systemEpoch, long systemSeq) {}

  /** What one call of {@link #cleanLog} did. */
  enum Cleaning {
    /** Nothing: enough of the log is live (or a backup is being written). */
    NOTHING,
    /** Cleaned part of a file; the next call goes on with it. */
    PART_OF_A_FILE,
    /** Finished cleaning a file, which is deleted a few seconds later. */
    FILE_CLEANED
  }

  /**
   * Takes one step of cleaning the store's log while more than half of it is garbage (what old
   * versions of entries leave behind): copies out what is still live of part of a file, for about
   * {@code budgetNanos} (at least one tree version), in one transaction. Nothing commits
   * meanwhile: the caller picks the moment, and calls again while it returns other than NOTHING.
   */
  Cleaning cleanLog(long budgetNanos);

  /**
   * Deletes from the change log up to {@code maxEntries} entries that newer writes superseded,
   * the oldest supersessions first, in one transaction; returns how many. A commit leaves them
   * there (readers skip them), since deleting many at once rewrites far fewer pages than
   * deleting each in the commit that supersedes it. The caller picks the moment, as for
   * {@link #cleanLog}.
   */
  int sweepLog(int maxEntries);

  /** Superseded log entries waiting for {@link #sweepLog}, in every database. Any thread. */
  long staleLogEntries();

  // ---- readers: any thread ----

  /**
   * Up to {@code maxDeltas} changes, and at most {@code maxBytes} of them (a change larger than
   * that goes alone), with seq above {@code afterSeq},
   * in seq order, of the given collections (null: all), read from one snapshot. A page looks at
   * a bounded number of log entries, so one of a reader who may see few of them can be short,
   * or empty, and still have {@code more}.
   */
  ChangePage changesSince(String db, Set<String> cols, ReadFilter filter, long afterSeq, int maxDeltas, int maxBytes);

  /** {@link #changesSince(String, Set, ReadFilter, long, int, int)} for a reader that may see everything. */
  default ChangePage changesSince(String db, Set<String> cols, long afterSeq, int maxDeltas, int maxBytes) {
    return changesSince(db, cols, null, afterSeq, maxDeltas, maxBytes);
  }

  /**
   * The registers of the documents in {@code buckets}, in key order (a document's registers
   * together, not split across pages unless it alone outgrows one), at most {@code maxBytes} of
   * them per page (a register larger than that goes alone), starting after register key
   * {@code afterKey} (null: from the first). {@link RegisterPage#more()} tells whether more follow; its
   * {@code resumeKey} is where to continue. Registers a purge at {@code purgeableBeforeMs} would
   * remove (tombstones and destroyed documents older than that; 0: none) are left out. Null
   * when the database does not exist.
   */
  RegisterPage registersInBuckets(String db, BitSet buckets, byte[] afterKey, int maxDeltas, int maxBytes,
      long purgeableBeforeMs);

  /** Every stored register of one collection, with its value and seq, from one snapshot. For small collections. */
  List<dev.syncline.protocol.Delta> registers(String db, String col);

  Optional<DatabaseInfo> database(String db);

  List<DatabaseInfo> databases();

  /** The database's digest as of its last commit; empty when it does not exist. */
  Optional<DatabaseDigest> digest(String db);

  /** The timestamp through which {@code db} was destroyed ({@link #destroyThrough}), or null. */
  String floor(String db);

  /** Where this server is in each database's feed of {@code peer}, by database. */
  Map<String, PeerCursor> peerCursors(String peer);

  /** Every peer ack stored. */
  List<PeerAck> peerAcks();

  /** The greatest timestamp ever committed, or null for an empty store: a clock never starts below it. */
  String maxTimestamp();

  /**
   * Writes a consistent copy of the whole store into {@code zip}, entries named under
   * {@code prefix}, while writes go on. A store opened on the copied files holds every commit
   * made before the backup began.
   */
  void backup(java.util.zip.ZipOutputStream zip, String prefix) throws java.io.IOException;

  /**
   * After a restore from a backup: every database gets a new epoch, so clients and peers that
   * hold seqs of its later life (lost with the restore) start over instead of skipping what is
   * written anew under those seqs. Its head and purge point also move {@link #EPOCH_SEQ_GAP} on,
   * so a client that names no epoch is reset too: its cursor is below the purge point. Writer
   * only, or before the server starts.
   */
  void renewEpochs();

  /** Bytes the store takes on disk. */
  long diskBytes();

  @Override
  void close();
}
