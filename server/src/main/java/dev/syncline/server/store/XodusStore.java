package dev.syncline.server.store;

import static dev.syncline.server.store.Layout.REMOVED;

import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Merge;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.bindings.LongBinding;
import jetbrains.exodus.bindings.StringBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.EnvironmentConfig;
import jetbrains.exodus.env.Environments;
import jetbrains.exodus.env.StoreConfig;
import jetbrains.exodus.env.Transaction;

/**
 * The Xodus (Environments API) implementation of {@link Store}: opening and upgrading the
 * environment, and the writer's transactions (group commits, creating, destroying and purging
 * databases, sweeps). The parts live beside it: {@link Merger} merges a batch, {@link
 * SnapshotReads} reads on any thread, {@link Removals} removes registers, {@link PeerTable}
 * keeps the peers' cursors and acks.
 *
 * <h2>Layout</h2>
 * One environment holds every database. Per database {@code D} (byte layouts in {@link Layout}):
 * <ul>
 *   <li>{@code reg:D} — the registers, keyed {@code col\0id\0attr}: seq, flags, entry hash, ts.
 *       Beside them, one entry per stored document, keyed {@code col\0id\0} (just before its
 *       registers); the value is the document's {@code $owner}. Whether a write is a document's
 *       first, and who owns it, is one lookup, not a scan of its registers; and a new document's
 *       entry shares its Patricia-tree path with its first register, where a table of its own
 *       (format 2) rewrote a second path at each commit.
 *   <li>{@code log:D} — the compacted change log, keyed by seq: the register key and the delta's
 *       wire encoding with its seq. Catch-up copies these stored bytes to the socket without
 *       re-encoding. When a register is overwritten, its old entry is superseded: deleted in the
 *       same commit when it lies in a run of such entries, else listed in {@code stale:D} and
 *       swept later ({@link StaleEntries}); readers skip the listed ones, so the log reads as one
 *       entry per register.
 *   <li>{@code stale:D} — new seq to the seq of the entry it superseded, until swept.
 * </ul>
 * And for the whole store, each updated in the same transaction as the data it describes:
 * {@code $meta} (each database's {@link DatabaseInfo}), {@code $digests} (each database's
 * digest buckets in chunks, see {@link DigestTable}), {@code $floors} (the timestamp each
 * destroyed database was destroyed through), {@code $peers} (peer feed cursors and peer acks, dropped
 * with their database) and
 * {@code $state} (the format version and the greatest timestamp committed).
 *
 * <h2>Durability</h2>
 * With {@code durable}, {@code setLogDurableWrite(true)}: a commit returns only after fsync.
 */
final class XodusStore implements Store {
  /**
   * Format 2 added the entry hash to registers, and the digests, floors, peers and clock; format
   * 3 moved each document's entry from {@code doc:D} into {@code reg:D}; format 4 keeps superseded
   * log entries until a sweep, listed in {@code stale:D} ({@link StaleEntries}), which a server of
   * format 3 would replay.
   */
  static final int FORMAT = 4;
  private static final String META = "$meta";
  private static final String STATE = "$state";
  private static final String FLOORS = "$floors";
  private static final String DIGESTS = "$digests";
  private static final String PEERS = "$peers";
  private static final String HEADS = "$heads";
  /** In {@code $state} while a store without fsyncs is open (see {@link #markOpen}). */
  private static final String OPEN = "open";

  private final Environment env;
  private final LogCleaner cleaner;
  private final jetbrains.exodus.env.Store meta;
  private final jetbrains.exodus.env.Store state;
  private final jetbrains.exodus.env.Store floorStore;
  private final DigestTable digests;
  private final PeerTable peers;
  private final CommitTimes commitTimes;
  private final SnapshotReads reads;
  private final Map<String, DatabaseTables> tables = new ConcurrentHashMap<>();
  private final Map<String, String> floors = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> localCollections;
  private volatile String maxTs;
  private final boolean durable;

  /** Xodus refuses a folder another process holds open; that is told apart from other failures. */
  private static Environment openEnvironment(Path dir, EnvironmentConfig config) {
    try {
      return Environments.newInstance(dir.toFile(), config);
    } catch (jetbrains.exodus.ExodusException e) {
      if (String.valueOf(e.getMessage()).contains("acquire environment lock")) throw new StoreLockedException(dir, e);
      throw e;
    }
  }

  /** Written and read by the writer thread only. */
  private long lastCommitSyncNanos;

  XodusStore(Path dir, boolean durable, long cacheBytes, int minUtilization, Map<String, Set<String>> localCollections,
      boolean upgrade) {
    this.localCollections = Map.copyOf(localCollections);
    this.durable = durable;
    EnvironmentConfig config = LogFiles.configure(new EnvironmentConfig(), dir)
        .setGcMinUtilization(minUtilization)
        .setLogDurableWrite(durable)
        .setEnvCloseForcedly(true);
    if (cacheBytes > 0) config.setMemoryUsage(cacheBytes);
    else config.setMemoryUsagePercentage(25);
    env = openEnvironment(dir, config);
    try {
      cleaner = new LogCleaner(env);
      jetbrains.exodus.env.Store[] opened = env.computeInExclusiveTransaction(txn -> new jetbrains.exodus.env.Store[] {
          env.openStore(META, StoreConfig.WITHOUT_DUPLICATES, txn),
          env.openStore(STATE, StoreConfig.WITHOUT_DUPLICATES, txn),
          env.openStore(FLOORS, StoreConfig.WITHOUT_DUPLICATES, txn),
          env.openStore(DIGESTS, StoreConfig.WITHOUT_DUPLICATES, txn),
          env.openStore(PEERS, StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn),
          env.openStore(HEADS, StoreConfig.WITHOUT_DUPLICATES, txn)});
      meta = opened[0];
      state = opened[1];
      floorStore = opened[2];
      digests = new DigestTable(opened[3]);
      peers = new PeerTable(env, opened[4]);
      commitTimes = new CommitTimes(opened[5]);
      reads = new SnapshotReads(env, meta);
      env.executeInExclusiveTransaction(txn -> {
        ByteIterable stored = state.get(txn, Layout.text("format"));
        int format = stored == null ? 1 : Integer.parseInt(StringBinding.entryToString(stored));
        if (format > FORMAT) throw new IllegalStateException("the store in " + dir + " has format " + format
            + ", newer than this server's " + FORMAT + ": run a newer server");
        boolean fresh = stored == null && meta.count(txn) == 0;
        if (format < FORMAT && !fresh && !upgrade) throw new StoreFormatException(dir, format, FORMAT);
        try (Cursor c = meta.openCursor(txn)) {
          while (c.getNext()) {
            DatabaseInfo info = Layout.infoOf(c.getValue());
            DatabaseTables t = openTables(info, txn);
            if (format < 2) upgradeToFormat2(t, txn);
            if (format < 3) moveDocumentsIntoRegisters(t, txn);
            t.digest = digests.read(txn, info.name());
            tables.put(info.name(), t);
          }
        }
        if (format < FORMAT) state.put(txn, Layout.text("format"), Layout.text(Integer.toString(FORMAT)));
        try (Cursor c = floorStore.openCursor(txn)) {
          while (c.getNext()) floors.put(StringBinding.entryToString(c.getKey()), StringBinding.entryToString(c.getValue()));
        }
        ByteIterable clock = state.get(txn, Layout.text("clock"));
        maxTs = clock == null ? null : StringBinding.entryToString(clock);
        commitTimes.load(txn);
      });
      markOpen();
    } catch (RuntimeException | Error e) {
      // not served: the folder's lock goes with it, so the same process may open it again
      try {
        env.close();
      } catch (RuntimeException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
  }

  private DatabaseTables openTables(DatabaseInfo info, Transaction txn) {
    return new DatabaseTables(
        env.openStore("reg:" + info.name(), StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn),
        env.openStore("log:" + info.name(), StoreConfig.WITHOUT_DUPLICATES, txn),
        StaleEntries.open(env, info.name(), txn),
        localCollections.getOrDefault(info.name(), Set.of()), info, new long[Digests.BUCKETS]);
  }

  /**
   * A store written before format 2 holds registers without their entry hash: each gets it from
   * its log entry, and the database its digest, once, at the first open.
   */
  private void upgradeToFormat2(DatabaseTables t, Transaction txn) {
    long[] digest = new long[Digests.BUCKETS];
    Map<byte[], ByteIterable> rewritten = new LinkedHashMap<>();
    String clock = null;
    try (Cursor c = t.registers.openCursor(txn)) {
      while (c.getNext()) {
        byte[] regKey = Layout.copy(c.getKey());
        byte[] old = Layout.copy(c.getValue());
        long seq = ByteBuffer.wrap(old, 0, 8).getLong();
        String ts = new String(old, 9, old.length - 9, StandardCharsets.US_ASCII);
        ByteIterable log = t.log.get(txn, LongBinding.longToEntry(seq));
        long hash = Digests.entryHash(Layout.openOf(Layout.jsonOf(log)));
        if (!t.isLocal(Layout.partsOf(regKey)[0])) digest[Digests.bucketOf(Layout.documentPrefixOf(regKey))] ^= hash;
        rewritten.put(regKey, Layout.registerValue(seq, old[8], hash, ts));
        if (clock == null || ts.compareTo(clock) > 0) clock = ts;
      }
    }
    rewritten.forEach((k, v) -> t.registers.put(txn, new ArrayByteIterable(k), v));
    digests.write(txn, t.info.name(), new long[Digests.BUCKETS], digest);
    if (clock != null) raiseClock(txn, clock);
  }

  /** A store written before format 3 keeps its document entries in {@code doc:D}: they move into {@code reg:D}. */
  private void moveDocumentsIntoRegisters(DatabaseTables t, Transaction txn) {
    String name = "doc:" + t.info.name();
    if (!env.storeExists(name, txn)) return;
    jetbrains.exodus.env.Store documents = env.openStore(name, StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn);
    try (Cursor c = documents.openCursor(txn)) {
      while (c.getNext()) t.registers.put(txn, new ArrayByteIterable(Layout.copy(c.getKey())), new ArrayByteIterable(Layout.copy(c.getValue())));
    }
    env.removeStore(name, txn);
  }

  // ---- writes ----

  @Override
  public long lastCommitSyncNanos() {
    return lastCommitSyncNanos;
  }

  @Override
  public List<BatchOutcome> commit(List<WriteBatch> batches) {
    Map<String, DatabaseInfo> newInfo = new HashMap<>();
    Map<String, long[]> newDigests = new HashMap<>();
    List<BatchOutcome> outcomes = new ArrayList<>(batches.size());
    String clockBefore = maxTs;
    String clock = clockBefore;
    Set<DatabaseTables> written = new HashSet<>();
    Transaction txn = env.beginExclusiveTransaction();
    try {
      for (WriteBatch batch : batches) {
        DatabaseTables t = tables.get(batch.db());
        if (t == null) {
          outcomes.add(new BatchOutcome(batch.db(), true, List.of(), List.of(), 0));
          continue;
        }
        written.add(t);
        DatabaseInfo before = newInfo.getOrDefault(batch.db(), t.info);
        Merger m = new Merger(t, txn, batch, before, newDigests.computeIfAbsent(batch.db(), d -> t.digest.clone()),
            floors.get(batch.db()));
        List<Merge.Outcome> results = m.applyAll();
        if (batch.cursor() != null) peers.storeFeedCursor(txn, batch.cursor(), batch.cursorAfter());
        if (m.maxTs != null && (clock == null || m.maxTs.compareTo(clock) > 0)) clock = m.maxTs;
        DatabaseInfo after = m.n.toInfo(before);
        if (after != before) newInfo.put(batch.db(), after);
        outcomes.add(new BatchOutcome(batch.db(), false, results, m.out, after.head()));
      }
      for (DatabaseTables t : written) t.stale.flush(txn, t.log);
      for (DatabaseInfo info : newInfo.values()) {
        meta.put(txn, Layout.text(info.name()), Layout.infoValue(info));
        digests.write(txn, info.name(), tables.get(info.name()).digest, newDigests.get(info.name()));
      }
      if (clock != null && !clock.equals(clockBefore)) state.put(txn, Layout.text("clock"), Layout.text(clock));
      long syncStarted = System.nanoTime();
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
      lastCommitSyncNanos = System.nanoTime() - syncStarted;
    } catch (RuntimeException | Error e) {
      // whatever failed, the exclusive transaction ends here: left open it would block every later one
      if (!txn.isFinished()) txn.abort();
      written.forEach(t -> t.stale.transactionEnded(false));
      throw e;
    }
    written.forEach(t -> t.stale.transactionEnded(true));
    // publish only once it is durable
    newInfo.forEach((db, info) -> {
      DatabaseTables t = tables.get(db);
      t.info = info; // before the digest: a reader of the digest then the info gets a head at or after it
      t.digest = newDigests.get(db);
    });
    maxTs = clock;
    return outcomes;
  }

  private void raiseClock(Transaction txn, String ts) {
    ByteIterable current = state.get(txn, Layout.text("clock"));
    if (current == null || ts.compareTo(StringBinding.entryToString(current)) > 0) state.put(txn, Layout.text("clock"), Layout.text(ts));
  }

  @Override
  public Optional<DatabaseInfo> createDatabase(String db, long createdAtMs) {
    if (tables.containsKey(db)) return Optional.empty();
    String floor = floors.get(db);
    // a life that starts after the destroy it follows, so peers can tell the two apart
    long createdAt = floor == null ? createdAtMs : Math.max(createdAtMs, Hlc.msOf(floor) + 1);
    DatabaseInfo info = new DatabaseInfo(db, newEpoch(createdAt), 0, createdAt, 0, 0, 0, 0, 0);
    DatabaseTables t = env.computeInExclusiveTransaction(txn -> {
      DatabaseTables opened = openTables(info, txn);
      meta.put(txn, Layout.text(db), Layout.infoValue(info));
      return opened;
    });
    tables.put(db, t);
    return Optional.of(info);
  }

  private static String newEpoch(long ms) {
    return Long.toString(ms, 36) + "-" + Long.toString(java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 40), 36);
  }

  @Override
  public DestroyOutcome destroyStep(String db, String ts, int maxRegisters) {
    String before = floors.get(db);
    String floor = before == null || ts.compareTo(before) > 0 ? ts : before;
    floors.put(db, floor); // in force from the first step: what is stamped through it is superseded
    DatabaseTables t = tables.get(db);
    Trimming going = trimming.get(db);
    if (going != null && !going.floor().equals(floor)) going = null; // a later destroy: from the start again
    Transaction txn = env.beginExclusiveTransaction();
    try {
      DestroyOutcome outcome = null;
      DatabaseInfo trimmed = null;
      long[] digest = null;
      Trimming next = null;
      if (t == null) {
        outcome = DestroyOutcome.ABSENT;
      } else {
        // a big one is first looked through in parts for a register after the floor (a full scan
        // would hold the writer); written to meanwhile, it has one: it is trimmed, not dropped
        if (going == null && t.info.attributes() > maxRegisters) going = new Trimming(floor, null, true, t.info.head());
        if (going != null && going.scanning() && t.info.head() != going.head()) going = new Trimming(floor, null, false, 0);
        if (going == null) { // small: one look
          if (Removals.hasRegisterAfter(t, txn, floor)) {
            going = new Trimming(floor, null, false, 0);
          } else {
            remove(db, txn);
            outcome = DestroyOutcome.REMOVED;
          }
        } else if (going.scanning()) {
          Removals.Scan scan = Removals.registerAfter(t, txn, floor, going.from(), 10 * maxRegisters);
          if (scan.found()) {
            going = new Trimming(floor, null, false, 0);
          } else if (scan.next() == null) {
            remove(db, txn); // every register at or before the floor: dropped whole, not register by register
            outcome = DestroyOutcome.REMOVED;
          } else {
            next = new Trimming(floor, scan.next(), true, going.head());
            outcome = DestroyOutcome.MORE;
          }
        }
        if (outcome == null) {
          digest = t.digest.clone();
          Counters n = new Counters(t.info);
          byte[] resume = trimStep(t, txn, floor, going.from(), maxRegisters, n, digest);
          // the purge point moves with the last step only (with the new epoch): else a subscriber or a
          // peer catching up below it would start over in the old life, and again in the new one
          if (resume != null) n.purged = t.info.purgedThrough();
          trimmed = resume == null ? newLife(n, t.info, floor) : n.toInfo(t.info);
          meta.put(txn, Layout.text(db), Layout.infoValue(trimmed));
          digests.write(txn, db, t.digest, digest);
          outcome = resume == null ? DestroyOutcome.TRIMMED : DestroyOutcome.MORE;
          if (resume != null) next = new Trimming(floor, resume, false, 0);
        }
      }
      // stored once done: a destroy cut short by a stop is due again at the next start
      if (outcome != DestroyOutcome.MORE) floorStore.put(txn, Layout.text(db), Layout.text(floor));
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
      if (next != null) trimming.put(db, next);
      else trimming.remove(db);
      if (outcome == DestroyOutcome.REMOVED) {
        tables.remove(db);
        commitTimes.dropped(db);
      }
      if (trimmed != null) {
        t.info = trimmed; // before the digest, as in commit
        t.digest = digest;
      }
      return outcome;
    } catch (RuntimeException | Error e) { // whatever was thrown, no exclusive transaction is left open
      if (!txn.isFinished()) txn.abort();
      throw e;
    }
  }

  /** Drops a database's tables and records, in {@code txn}. */
  private void remove(String db, Transaction txn) {
    env.removeStore("reg:" + db, txn);
    env.removeStore("log:" + db, txn);
    env.removeStore(StaleEntries.tableName(db), txn);
    meta.delete(txn, Layout.text(db));
    digests.delete(txn, db);
    commitTimes.drop(txn, db);
    peers.dropDatabase(txn, db);
  }

  /**
   * A destroy under way in steps: its floor, and the register key its next step starts from;
   * {@code scanning} while a big database is looked through for a register after the floor (at
   * {@code head}: a commit since means it has one), else trimmed. Writer only.
   */
  private record Trimming(String floor, byte[] from, boolean scanning, long head) {}

  private final Map<String, Trimming> trimming = new HashMap<>();

  /**
   * Removes up to {@code max} registers at or before {@code floor}, looking at up to ten times
   * that many, in key order from
   * {@code from} (null: the first), and the documents left without any. Returns the key the next
   * step starts from, or null when the end was reached.
   */
  private static byte[] trimStep(DatabaseTables t, Transaction txn, String floor, byte[] from, int max, Counters n,
      long[] digest) {
    List<byte[]> gone = new ArrayList<>();
    byte[] next = null;
    try (Cursor c = t.registers.openCursor(txn)) {
      boolean has = from == null ? c.getNext() : c.getSearchKeyRange(new ArrayByteIterable(from)) != null;
      // bounded by what it looks at too: most registers may be newer than the floor, and stay
      for (int looked = 0; has; has = c.getNext(), looked++) {
        if (gone.size() >= max || looked >= 10 * max) {
          // the next step starts here; what it has passed gets nothing at or before the floor meanwhile
          next = Layout.copy(c.getKey());
          break;
        }
        if (!Layout.isDocumentKey(c.getKey()) && Layout.tsOf(c.getValue()).compareTo(floor) <= 0) gone.add(Layout.copy(c.getKey()));
      }
    }
    Set<String> touched = new HashSet<>();
    for (byte[] k : gone) {
      Removals.removeRegister(t, txn, k, t.registers.get(txn, new ArrayByteIterable(k)), n, digest);
      touched.add(new String(Layout.documentPrefixOf(k), StandardCharsets.UTF_8));
    }
    for (String prefix : touched) {
      String[] parts = prefix.split("\0", -1);
      byte[] docKey = prefix.getBytes(StandardCharsets.UTF_8);
      if (!Removals.documentExists(t, txn, docKey)) {
        Removals.removeDocument(t, txn, docKey, n);
      } else if (t.registers.get(txn, new ArrayByteIterable(Layout.registerKey(parts[0], parts[1], Delta.OWNER))) == null) {
        t.registers.put(txn, new ArrayByteIterable(docKey), Layout.EMPTY); // its $owner went with the rest
      }
    }
    return next;
  }

  /**
   * The database after the last step of a trim: past the old head, so a cursor at it is behind
   * what was taken (a client that names no epoch starts over too), and a new epoch.
   */
  private static DatabaseInfo newLife(Counters n, DatabaseInfo before, String floor) {
    n.head++;
    n.purged = n.head;
    DatabaseInfo counted = n.toInfo(before);
    return new DatabaseInfo(counted.name(), newEpoch(System.currentTimeMillis()), counted.head(),
        Math.max(counted.createdAt(), Hlc.msOf(floor) + 1), counted.purgedThrough(), counted.documents(),
        counted.attributes(), counted.tombstones(), counted.ownerChanges());
  }

  @Override
  public PurgeOutcome purge(String db, long olderThanMs, long maxSeq, long destroyedOlderThanMs, long destroyedMaxSeq,
      int maxEntries) {
    DatabaseTables t = tables.get(db);
    if (t == null) return PurgeOutcome.none(db, 0);
    // a destroy under way removes it all anyway, and takes a head that moves for a write after it
    if (trimming.containsKey(db)) return PurgeOutcome.none(db, t.info.head());
    Transaction txn = env.beginExclusiveTransaction();
    try {
      Counters n = new Counters(t.info);
      long[] digest = t.digest.clone();
      List<byte[]> regKeys = new ArrayList<>();
      List<Long> seqs = new ArrayList<>();
      boolean end;
      long last = t.purgeAfter;
      try (Cursor c = t.log.openCursor(txn)) {
        boolean has = c.getSearchKeyRange(LongBinding.longToEntry(t.purgeAfter + 1)) != null;
        boolean atLimit = false;
        while (has && regKeys.size() < maxEntries) {
          long seq = LongBinding.entryToLong(c.getKey());
          if (seq > maxSeq) {
            atLimit = true;
            break;
          }
          regKeys.add(Layout.regKeyOf(c.getValue()));
          seqs.add(seq);
          last = seq;
          has = c.getNext();
        }
        end = !has || atLimit || last >= maxSeq;
      }
      // the next step goes on from here; after the newest entry, over again from the oldest
      t.purgeAfter = end ? 0 : last;
      int removed = 0;
      var limits = new Removals.PurgeLimits(olderThanMs, maxSeq, Math.min(olderThanMs, destroyedOlderThanMs),
          Math.min(maxSeq, destroyedMaxSeq));
      List<CommittedDelta> recommitted = new ArrayList<>();
      for (int i = 0; i < regKeys.size(); i++) {
        removed += Removals.purgeRegister(t, txn, regKeys.get(i), seqs.get(i), limits, n, digest, recommitted);
      }
      if (removed == 0 && recommitted.isEmpty()) {
        txn.abort();
        return PurgeOutcome.none(db, t.info.head());
      }
      DatabaseInfo after = n.toInfo(t.info);
      meta.put(txn, Layout.text(db), Layout.infoValue(after));
      digests.write(txn, db, t.digest, digest);
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
      t.info = after; // before the digest, as in commit
      t.digest = digest;
      return new PurgeOutcome(removed, new BatchOutcome(db, false, List.of(), recommitted, after.head()));
    } catch (RuntimeException | Error e) { // whatever was thrown, no exclusive transaction is left open
      if (!txn.isFinished()) txn.abort();
      throw e;
    }
  }

  @Override
  public void noteHeads(long nowMs, long everyMs, long keepFromMs) {
    Map<String, java.util.TreeMap<Long, Long>> changed = new java.util.HashMap<>();
    env.executeInExclusiveTransaction(txn -> {
      for (DatabaseTables t : tables.values()) {
        var s = commitTimes.note(txn, t.info.name(), t.info.head(), nowMs, everyMs, keepFromMs);
        if (s != null) changed.put(t.info.name(), s);
      }
    });
    changed.forEach(commitTimes::publish);
  }

  @Override
  public long headCommittedBy(String db, long timeMs) {
    return commitTimes.headAt(db, timeMs);
  }

  // ---- peers ----

  @Override
  public void savePeerAcks(Collection<PeerAck> acks) {
    // one of a life destroyed since it came (it raced the destroy) would stay for good
    peers.savePeerAcks(acks.stream().filter(a -> {
      DatabaseTables t = tables.get(a.db());
      return t != null && t.info.epoch().equals(a.epoch());
    }).toList());
  }

  @Override
  public void saveCursors(Collection<PeerCursor> cursors) {
    // nor a cursor of a database not here: destroyed since, or a peer's life of it ignored here
    peers.saveCursors(cursors.stream().filter(c -> tables.containsKey(c.db())).toList());
  }

  @Override
  public void forgetPeer(String peer) {
    peers.forgetPeer(peer);
  }

  @Override
  public Set<String> forgottenPeers() {
    return peers.forgottenPeers();
  }

  @Override
  public void saveDialedPeer(String url, String peer) {
    peers.saveDialedPeer(url, peer);
  }

  @Override
  public Map<String, String> dialedPeers() {
    return peers.dialedPeers();
  }

  @Override
  public void savePolicyWait(String db, String peer, String systemEpoch, long systemSeq) {
    peers.savePolicyWait(db, peer, systemEpoch, systemSeq);
  }

  @Override
  public void dropPolicyWaits(String db) {
    peers.dropPolicyWaits(db);
  }

  @Override
  public List<PolicyWaitRecord> policyWaits() {
    return peers.policyWaits();
  }

  @Override
  public Map<String, PeerCursor> peerCursors(String peer) {
    return peers.peerCursors(peer);
  }

  @Override
  public List<PeerAck> peerAcks() {
    return peers.peerAcks();
  }

  // ---- reads ----

  @Override
  public ChangePage changesSince(String db, Set<String> cols, ReadFilter filter, long afterSeq, int maxDeltas, int maxBytes) {
    DatabaseTables t = tables.get(db);
    return t == null ? null : reads.changesSince(t, cols, filter, afterSeq, maxDeltas, maxBytes);
  }

  @Override
  public RegisterPage registersInBuckets(String db, BitSet buckets, byte[] afterKey, int maxDeltas, int maxBytes,
      long purgeableBeforeMs) {
    DatabaseTables t = tables.get(db);
    return t == null ? null : reads.registersInBuckets(t, buckets, afterKey, maxDeltas, maxBytes, purgeableBeforeMs);
  }

  @Override
  public List<Delta> registers(String db, String col) {
    DatabaseTables t = tables.get(db);
    return t == null ? List.of() : reads.registers(t, col);
  }

  @Override
  public Optional<DatabaseInfo> database(String db) {
    DatabaseTables t = tables.get(db);
    return t == null ? Optional.empty() : Optional.of(t.info);
  }

  @Override
  public List<DatabaseInfo> databases() {
    return tables.values().stream().map(t -> t.info).sorted((a, b) -> a.name().compareTo(b.name())).toList();
  }

  @Override
  public Optional<DatabaseDigest> digest(String db) {
    DatabaseTables t = tables.get(db);
    if (t == null) return Optional.empty();
    long[] buckets = t.digest; // read before the info: the head given is at or after these buckets
    return Optional.of(new DatabaseDigest(db, Digests.digestOf(buckets), buckets.clone(), t.info.head()));
  }

  @Override
  public String floor(String db) {
    return floors.get(db);
  }

  @Override
  public String maxTimestamp() {
    return maxTs;
  }

  @Override
  public void backup(java.util.zip.ZipOutputStream zip, String prefix) throws java.io.IOException {
    cleaner.backupStarted();
    try {
      XodusBackup.write(env, zip, prefix);
    } finally {
      cleaner.backupEnded();
    }
  }

  @Override
  public Cleaning cleanLog(long budgetNanos) {
    return cleaner.step(budgetNanos);
  }

  /** The share of the log that is live by Xodus's estimate, in percent (for tests' messages). */
  int logLivePercent() {
    return cleaner.livePercent();
  }

  @Override
  public int sweepLog(int maxEntries) {
    Map<DatabaseTables, long[]> swept = new HashMap<>();
    int n = 0;
    Transaction txn = env.beginExclusiveTransaction();
    try {
      for (DatabaseTables t : tables.values()) {
        if (n >= maxEntries) break;
        if (t.stale.size() == 0) continue;
        long[] seqs = t.stale.sweep(txn, t.log, maxEntries - n);
        swept.put(t, seqs);
        n += seqs.length;
      }
      if (n == 0) {
        txn.abort();
        return 0;
      }
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
    } catch (RuntimeException | Error e) { // whatever was thrown, no exclusive transaction is left open
      if (!txn.isFinished()) txn.abort();
      throw e;
    }
    swept.forEach((t, seqs) -> t.stale.swept(seqs));
    cleaner.garbageMade();
    return n;
  }

  @Override
  public long staleLogEntries() {
    long n = 0;
    for (DatabaseTables t : tables.values()) n += t.stale.size();
    return n;
  }

  @Override
  public void renewEpochs() {
    Map<DatabaseTables, DatabaseInfo> renewed = new HashMap<>();
    env.executeInExclusiveTransaction(txn -> {
      for (DatabaseTables t : tables.values()) {
        DatabaseInfo i = t.info;
        long head = i.head() + EPOCH_SEQ_GAP; // past any seq handed out in the history that was lost
        DatabaseInfo next = new DatabaseInfo(i.name(), newEpoch(System.currentTimeMillis()), head, i.createdAt(),
            head, i.documents(), i.attributes(), i.tombstones(), i.ownerChanges());
        meta.put(txn, Layout.text(i.name()), Layout.infoValue(next));
        renewed.put(t, next);
      }
    });
    renewed.forEach((t, info) -> t.info = info); // published once durable
  }

  @Override
  public long diskBytes() {
    return env.getStatistics().getStatisticsItem(jetbrains.exodus.env.EnvironmentStatistics.Type.DISK_USAGE).getTotal();
  }

  /**
   * Without fsyncs, a machine crash loses the last commits, though they were acked and sent to
   * subscribers and peers: the seqs they had are then given to new writes, and a client resuming
   * from one of them would skip those. So a store that was not closed cleanly since it was last
   * opened gives every database a new epoch, and everyone holding its seqs starts over. A process
   * that was killed lost nothing (the OS had the writes), but cannot be told apart. The mark is
   * read whatever this opening's durability: a crash without fsyncs may be followed by a start
   * with them.
   */
  private void markOpen() {
    boolean unclean = env.computeInReadonlyTransaction(txn -> state.get(txn, Layout.text(OPEN)) != null);
    if (unclean) renewEpochs();
    if (durable) {
      if (unclean) env.executeInExclusiveTransaction(txn -> state.delete(txn, Layout.text(OPEN)));
      return;
    }
    jetbrains.exodus.log.LogConfig config = ((jetbrains.exodus.env.EnvironmentImpl) env).getLog().getConfig();
    config.setDurableWrite(true); // this one mark must be on disk before any write it covers is acked
    try {
      env.executeInExclusiveTransaction(txn -> state.put(txn, Layout.text(OPEN), Layout.text("1")));
    } finally {
      config.setDurableWrite(false);
    }
  }

  @Override
  public void close() {
    if (!env.isOpen()) return;
    try {
      if (!durable) env.executeInExclusiveTransaction(txn -> state.delete(txn, Layout.text(OPEN)));
    } finally {
      env.close(); // whatever the mark's removal threw: then the next start only renews the epochs
    }
  }
}
