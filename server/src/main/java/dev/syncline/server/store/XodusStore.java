package dev.syncline.server.store;

import static dev.syncline.server.store.Layout.DESTROYS;
import static dev.syncline.server.store.Layout.REMOVED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Merge;
import dev.syncline.protocol.MessageCodec;
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
 * The Xodus (Environments API) implementation of {@link Store}.
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
 *       wire encoding with its seq. When a register is overwritten its old entry is deleted, so
 *       the log holds exactly one entry per register and catch-up copies stored bytes to the
 *       socket without re-encoding.
 * </ul>
 * And for the whole store, each updated in the same transaction as the data it describes:
 * {@code $meta} (each database's {@link DatabaseInfo}), {@code $digests} (each database's
 * digest buckets in chunks, see {@link DigestTable}), {@code $floors} (the timestamp each
 * destroyed database was destroyed through), {@code $peers} (peer feed cursors and peer acks) and
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
  private static final int FORMAT = 4;
  private static final String META = "$meta";
  private static final String STATE = "$state";
  private static final String FLOORS = "$floors";
  private static final String DIGESTS = "$digests";
  private static final String PEERS = "$peers";
  private static final String IN = "in\0";
  private static final String OUT = "out\0";

  private final Environment env;
  private final LogCleaner cleaner;
  private final jetbrains.exodus.env.Store meta;
  private final jetbrains.exodus.env.Store state;
  private final jetbrains.exodus.env.Store floorStore;
  private final DigestTable digests;
  private final jetbrains.exodus.env.Store peerStore;
  private final Map<String, Tables> tables = new ConcurrentHashMap<>();
  private final Map<String, String> floors = new ConcurrentHashMap<>();
  private final Map<String, Set<String>> localCollections;
  private volatile String maxTs;

  /** A database's Xodus stores and what the last commit published of it. */
  private static final class Tables {
    /** Registers and document entries ({@link Layout#isDocumentKey}). */
    final jetbrains.exodus.env.Store registers;
    final jetbrains.exodus.env.Store log;
    /** Log entries superseded but not yet deleted: every reader of {@link #log} skips them. */
    final StaleEntries stale;
    volatile DatabaseInfo info;
    /** Replaced after each commit that changed it, never changed in place: readers may hold it. */
    volatile long[] digest;
    /** Writer thread only: the seq the next purge step starts after. */
    long purgeAfter;

    Tables(jetbrains.exodus.env.Store registers, jetbrains.exodus.env.Store log, StaleEntries stale, DatabaseInfo info,
        long[] digest) {
      this.registers = registers;
      this.log = log;
      this.stale = stale;
      this.info = info;
      this.digest = digest;
    }
  }

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

  XodusStore(Path dir, boolean durable, long cacheBytes, int minUtilization, Map<String, Set<String>> localCollections) {
    this.localCollections = Map.copyOf(localCollections);
    EnvironmentConfig config = LogFiles.configure(new EnvironmentConfig(), dir)
        .setGcMinUtilization(minUtilization)
        .setLogDurableWrite(durable)
        .setEnvCloseForcedly(true);
    if (cacheBytes > 0) config.setMemoryUsage(cacheBytes);
    else config.setMemoryUsagePercentage(25);
    env = openEnvironment(dir, config);
    cleaner = new LogCleaner(env);
    jetbrains.exodus.env.Store[] opened = env.computeInExclusiveTransaction(txn -> new jetbrains.exodus.env.Store[] {
        env.openStore(META, StoreConfig.WITHOUT_DUPLICATES, txn),
        env.openStore(STATE, StoreConfig.WITHOUT_DUPLICATES, txn),
        env.openStore(FLOORS, StoreConfig.WITHOUT_DUPLICATES, txn),
        env.openStore(DIGESTS, StoreConfig.WITHOUT_DUPLICATES, txn),
        env.openStore(PEERS, StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn)});
    meta = opened[0];
    state = opened[1];
    floorStore = opened[2];
    digests = new DigestTable(opened[3]);
    peerStore = opened[4];
    env.executeInExclusiveTransaction(txn -> {
      ByteIterable stored = state.get(txn, key("format"));
      int format = stored == null ? 1 : Integer.parseInt(StringBinding.entryToString(stored));
      if (format > FORMAT) throw new IllegalStateException("the store in " + dir + " has format " + format
          + ", newer than this server's " + FORMAT + ": run a newer server");
      try (Cursor c = meta.openCursor(txn)) {
        while (c.getNext()) {
          DatabaseInfo info = readInfo(c.getValue());
          Tables t = openTables(info, txn);
          if (format < 2) upgradeToFormat2(t, txn);
          if (format < 3) moveDocumentsIntoRegisters(t, txn);
          t.digest = digests.read(txn, info.name());
          tables.put(info.name(), t);
        }
      }
      if (format < FORMAT) state.put(txn, key("format"), key(Integer.toString(FORMAT)));
      try (Cursor c = floorStore.openCursor(txn)) {
        while (c.getNext()) floors.put(StringBinding.entryToString(c.getKey()), StringBinding.entryToString(c.getValue()));
      }
      ByteIterable clock = state.get(txn, key("clock"));
      maxTs = clock == null ? null : StringBinding.entryToString(clock);
    });
  }

  private Tables openTables(DatabaseInfo info, Transaction txn) {
    return new Tables(
        env.openStore("reg:" + info.name(), StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn),
        env.openStore("log:" + info.name(), StoreConfig.WITHOUT_DUPLICATES, txn),
        StaleEntries.open(env, info.name(), txn),
        info, new long[Digests.BUCKETS]);
  }

  /**
   * A store written before format 2 holds registers without their entry hash: each gets it from
   * its log entry, and the database its digest, once, at the first open.
   */
  private void upgradeToFormat2(Tables t, Transaction txn) {
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
        if (!isLocal(t.info.name(), Layout.partsOf(regKey)[0])) digest[Digests.bucketOf(Layout.documentPrefixOf(regKey))] ^= hash;
        rewritten.put(regKey, Layout.registerValue(seq, old[8], hash, ts));
        if (clock == null || ts.compareTo(clock) > 0) clock = ts;
      }
    }
    rewritten.forEach((k, v) -> t.registers.put(txn, new ArrayByteIterable(k), v));
    digests.write(txn, t.info.name(), new long[Digests.BUCKETS], digest);
    if (clock != null) raiseClock(txn, clock);
  }

  /** A store written before format 3 keeps its document entries in {@code doc:D}: they move into {@code reg:D}. */
  private void moveDocumentsIntoRegisters(Tables t, Transaction txn) {
    String name = "doc:" + t.info.name();
    if (!env.storeExists(name, txn)) return;
    jetbrains.exodus.env.Store documents = env.openStore(name, StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn);
    try (Cursor c = documents.openCursor(txn)) {
      while (c.getNext()) t.registers.put(txn, new ArrayByteIterable(Layout.copy(c.getKey())), new ArrayByteIterable(Layout.copy(c.getValue())));
    }
    env.removeStore(name, txn);
  }

  private boolean isLocal(String db, String col) {
    Set<String> local = localCollections.get(db);
    return local != null && local.contains(col);
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
    Set<Tables> written = new HashSet<>();
    Transaction txn = env.beginExclusiveTransaction();
    try {
      for (WriteBatch batch : batches) {
        Tables t = tables.get(batch.db());
        if (t == null) {
          outcomes.add(new BatchOutcome(batch.db(), true, List.of(), List.of(), 0));
          continue;
        }
        written.add(t);
        DatabaseInfo before = newInfo.getOrDefault(batch.db(), t.info);
        Merger m = new Merger(t, txn, batch, before, newDigests.computeIfAbsent(batch.db(), d -> t.digest.clone()));
        List<Merge.Outcome> results = m.applyAll();
        if (batch.cursor() != null) storeCursor(txn, batch.cursor());
        if (m.maxTs != null && (clock == null || m.maxTs.compareTo(clock) > 0)) clock = m.maxTs;
        DatabaseInfo after = m.n.toInfo(before);
        if (after != before) newInfo.put(batch.db(), after);
        outcomes.add(new BatchOutcome(batch.db(), false, results, m.out, after.head()));
      }
      for (Tables t : written) t.stale.flush(txn, t.log);
      for (DatabaseInfo info : newInfo.values()) {
        meta.put(txn, key(info.name()), infoBytes(info));
        digests.write(txn, info.name(), tables.get(info.name()).digest, newDigests.get(info.name()));
      }
      if (clock != null && !clock.equals(clockBefore)) state.put(txn, key("clock"), key(clock));
      long syncStarted = System.nanoTime();
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
      lastCommitSyncNanos = System.nanoTime() - syncStarted;
    } catch (RuntimeException e) {
      if (!txn.isFinished()) txn.abort();
      written.forEach(t -> t.stale.transactionEnded(false));
      throw e;
    }
    written.forEach(t -> t.stale.transactionEnded(true));
    // publish only once it is durable
    newInfo.forEach((db, info) -> {
      Tables t = tables.get(db);
      t.digest = newDigests.get(db);
      t.info = info;
    });
    maxTs = clock;
    return outcomes;
  }

  /** Running counters of one database while a transaction is open. */
  private static final class Counters {
    long head, documents, attributes, tombstones, purged, ownerChanges;

    Counters(DatabaseInfo i) {
      head = i.head();
      documents = i.documents();
      attributes = i.attributes();
      tombstones = i.tombstones();
      purged = i.purgedThrough();
      ownerChanges = i.ownerChanges();
    }

    DatabaseInfo toInfo(DatabaseInfo before) {
      if (head == before.head() && documents == before.documents() && attributes == before.attributes()
          && tombstones == before.tombstones() && purged == before.purgedThrough()
          && ownerChanges == before.ownerChanges()) {
        return before;
      }
      return before.withCounts(head, purged, documents, attributes, tombstones, ownerChanges);
    }
  }

  /** Merges the deltas of one batch, inside the group's transaction. */
  private final class Merger {
    final Tables t;
    final Transaction txn;
    final WriteBatch batch;
    final Counters n;
    final long[] digest;
    final String floor;
    final List<CommittedDelta> out = new ArrayList<>();
    final Set<String> createdHere = new HashSet<>();
    String maxTs;

    Merger(Tables t, Transaction txn, WriteBatch batch, DatabaseInfo before, long[] digest) {
      this.t = t;
      this.txn = txn;
      this.batch = batch;
      this.n = new Counters(before);
      this.digest = digest;
      this.floor = floors.get(batch.db());
    }

    /**
     * Merges every delta of the batch; null for one refused before the writer. The loop is a
     * method of its own so that, while a big group runs, the JIT compiles it on-stack rather
     * than all of {@code commit} (in {@code writes-100}, {@code commit} was compiled on-stack and
     * then whole, 0.3 and 0.55 s).
     */
    List<Merge.Outcome> applyAll() {
      List<Merge.Outcome> results = new ArrayList<>(batch.deltas().size());
      for (int i = 0; i < batch.deltas().size(); i++) {
        Delta d = batch.deltas().get(i);
        results.add(d == null ? null : apply(d, batch.encoded().get(i)));
      }
      return results;
    }

    /**
     * Merges one delta. Returns null when the batch's guard refuses it. The first write of a
     * document records its entry in {@code reg:D} with the batch's writer as owner, and (for a signed-in
     * writer) writes the {@code $owner} register just before it, stamped with the same ts.
     */
    Merge.Outcome apply(Delta d, EncodedDelta e) {
      byte[] docPrefix = e.documentPrefix();
      ArrayByteIterable docKey = new ArrayByteIterable(docPrefix);
      ByteIterable doc = t.registers.get(txn, docKey);
      String owner = doc == null ? null : Layout.ownerOf(doc);
      ByteIterable old = t.registers.get(txn, new ArrayByteIterable(e.registerKey));
      long hash = e.hash;
      // written before the database was destroyed: superseded by the destroy, like by a newer value
      Merge.Outcome outcome = floor != null && d.ts().compareTo(floor) <= 0 ? Merge.Outcome.SUPERSEDED : decide(old, d, hash);
      // a resend of a write that landed is answered duplicate, as before any policy changed; only its
      // writer knows that ts, so this tells nobody anything new
      if (outcome == Merge.Outcome.DUPLICATE) return outcome;
      if (batch.guard() != null) {
        String docId = d.col() + '\0' + d.id();
        // making a document is a create, whatever the delta writes — $deleted included
        WriteGuard.Action action = doc == null || createdHere.contains(docId) ? WriteGuard.Action.CREATE
            : d.attr().equals(Delta.DELETED) ? WriteGuard.Action.DESTROY : WriteGuard.Action.UPDATE;
        if (!batch.guard().permits(d.col(), action, doc == null ? batch.writer() : owner)) return null;
        if (doc == null) createdHere.add(docId);
      }
      if (outcome != Merge.Outcome.APPLIED) return outcome;

      if (doc == null) {
        owner = batch.writer();
        t.registers.put(txn, docKey, Layout.ownerValue(owner));
        n.documents++;
        if (owner != null && !d.attr().equals(Delta.OWNER)) {
          Delta ownerDelta = new Delta(d.col(), d.id(), Delta.OWNER, TextNode.valueOf(owner), d.ts());
          EncodedDelta ownerEncoded = EncodedDelta.of(ownerDelta);
          write(ownerDelta, ownerEncoded, docPrefix,
              t.registers.get(txn, new ArrayByteIterable(ownerEncoded.registerKey)), owner, owner);
        }
      }
      String previousOwner = owner;
      if (d.attr().equals(Delta.OWNER)) {
        String next = d.value().isTextual() ? d.value().textValue() : null;
        if (doc != null && !java.util.Objects.equals(owner, next)) n.ownerChanges++;
        else previousOwner = next; // a first write or the same owner again: no transfer
        owner = next;
        t.registers.put(txn, docKey, Layout.ownerValue(owner));
      }
      write(d, e, docPrefix, old, owner, previousOwner);
      return outcome;
    }

    /**
     * LWW by timestamp; an equal timestamp is decided by the values, so every replica picks the
     * same one. The same write seen again (the common case of an equal timestamp: a resend, or a
     * change reaching this server along two links) has the same entry hash, so the stored value
     * is read from the log only for a real tie.
     */
    private Merge.Outcome decide(ByteIterable old, Delta d, long hash) {
      if (old == null) return Merge.Outcome.APPLIED;
      String storedTs = Layout.tsOf(old);
      if (!d.ts().equals(storedTs)) return Merge.decide(storedTs, null, d.ts(), d.value());
      if (Layout.hashOf(old) == hash) return Merge.Outcome.DUPLICATE;
      return Merge.decide(storedTs, storedValue(old), d.ts(), d.value());
    }

    private JsonNode storedValue(ByteIterable reg) {
      ByteIterable entry = t.log.get(txn, LongBinding.longToEntry(Layout.seqOf(reg)));
      try {
        return Json.MAPPER.readTree(Layout.jsonOf(entry)).get("value");
      } catch (java.io.IOException e) {
        throw new IllegalStateException("corrupt log entry in " + batch.db(), e);
      }
    }

    /**
     * Stores a winning delta: its register, its log entry (the register's old one goes to
     * {@link StaleEntries}, deleted before the commit or swept later), the digest and the counts.
     */
    private void write(Delta d, EncodedDelta e, byte[] docPrefix, ByteIterable old, String owner, String previousOwner) {
      long digestChange = e.hash;
      long seq = ++n.head;
      if (old != null) {
        t.stale.superseded(seq, Layout.seqOf(old));
        if ((Layout.flagsOf(old) & REMOVED) != 0) n.tombstones--;
        digestChange ^= Layout.hashOf(old);
      } else {
        n.attributes++;
      }
      if (!isLocal(batch.db(), d.col())) digest[Digests.bucketOf(docPrefix)] ^= digestChange;
      byte[] json = MessageCodec.withSeq(e.open, seq);
      byte flags = 0;
      if (d.isRemoval()) {
        flags |= REMOVED;
        n.tombstones++;
      }
      if (d.attr().equals(Delta.DELETED) && d.value().asBoolean()) flags |= DESTROYS;
      t.registers.put(txn, new ArrayByteIterable(e.registerKey), Layout.registerValue(seq, flags, e.hash, d.ts()));
      // seqs only grow: putRight appends to the B-tree's last page instead of searching for the place
      t.log.putRight(txn, LongBinding.longToEntry(seq), Layout.logValue(e.registerKey, json));
      out.add(new CommittedDelta(d.withSeq(seq), json, owner, previousOwner, batch.source()));
      if (maxTs == null || d.ts().compareTo(maxTs) > 0) maxTs = d.ts();
    }
  }

  private void raiseClock(Transaction txn, String ts) {
    ByteIterable current = state.get(txn, key("clock"));
    if (current == null || ts.compareTo(StringBinding.entryToString(current)) > 0) state.put(txn, key("clock"), key(ts));
  }

  @Override
  public Optional<DatabaseInfo> createDatabase(String db, long createdAtMs) {
    if (tables.containsKey(db)) return Optional.empty();
    String floor = floors.get(db);
    // a life that starts after the destroy it follows, so peers can tell the two apart
    long createdAt = floor == null ? createdAtMs : Math.max(createdAtMs, Hlc.msOf(floor) + 1);
    DatabaseInfo info = new DatabaseInfo(db, newEpoch(createdAt), 0, createdAt, 0, 0, 0, 0, 0);
    Tables t = env.computeInExclusiveTransaction(txn -> {
      Tables opened = openTables(info, txn);
      meta.put(txn, key(db), infoBytes(info));
      return opened;
    });
    tables.put(db, t);
    return Optional.of(info);
  }

  private static String newEpoch(long ms) {
    return Long.toString(ms, 36) + "-" + Long.toString(java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 40), 36);
  }

  @Override
  public DestroyOutcome destroyThrough(String db, String ts) {
    String before = floors.get(db);
    String floor = before == null || ts.compareTo(before) > 0 ? ts : before;
    Tables t = tables.get(db);
    Transaction txn = env.beginExclusiveTransaction();
    try {
      floorStore.put(txn, key(db), key(floor));
      DestroyOutcome outcome;
      DatabaseInfo trimmed = null;
      long[] digest = null;
      if (t == null) {
        outcome = DestroyOutcome.ABSENT;
      } else if (!hasRegisterAfter(t, txn, floor)) {
        env.removeStore("reg:" + db, txn);
        env.removeStore("log:" + db, txn);
        env.removeStore(StaleEntries.tableName(db), txn);
        meta.delete(txn, key(db));
        digests.delete(txn, db);
        outcome = DestroyOutcome.REMOVED;
      } else {
        digest = t.digest.clone();
        trimmed = trim(t, txn, floor, digest);
        meta.put(txn, key(db), infoBytes(trimmed));
        digests.write(txn, db, t.digest, digest);
        outcome = DestroyOutcome.TRIMMED;
      }
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
      floors.put(db, floor);
      if (outcome == DestroyOutcome.REMOVED) tables.remove(db);
      if (outcome == DestroyOutcome.TRIMMED) {
        t.digest = digest;
        t.info = trimmed;
      }
      return outcome;
    } catch (RuntimeException e) {
      if (!txn.isFinished()) txn.abort();
      throw e;
    }
  }

  private static boolean hasRegisterAfter(Tables t, Transaction txn, String ts) {
    try (Cursor c = t.registers.openCursor(txn)) {
      while (c.getNext()) if (!Layout.isDocumentKey(c.getKey()) && Layout.tsOf(c.getValue()).compareTo(ts) > 0) return true;
    }
    return false;
  }

  /**
   * Removes every register at or before {@code floor}, and the documents left without any. The
   * database gets a new epoch: what its subscribers hold can no longer be continued.
   */
  private DatabaseInfo trim(Tables t, Transaction txn, String floor, long[] digest) {
    Counters n = new Counters(t.info);
    List<byte[]> gone = new ArrayList<>();
    try (Cursor c = t.registers.openCursor(txn)) {
      while (c.getNext()) {
        if (!Layout.isDocumentKey(c.getKey()) && Layout.tsOf(c.getValue()).compareTo(floor) <= 0) gone.add(Layout.copy(c.getKey()));
      }
    }
    Set<String> touched = new HashSet<>();
    for (byte[] k : gone) {
      removeRegister(t, txn, k, t.registers.get(txn, new ArrayByteIterable(k)), n, digest);
      touched.add(new String(Layout.documentPrefixOf(k), StandardCharsets.UTF_8));
    }
    for (String prefix : touched) {
      String[] parts = prefix.split("\0", -1);
      byte[] docKey = prefix.getBytes(StandardCharsets.UTF_8);
      if (!documentExists(t, txn, docKey)) {
        removeDocument(t, txn, docKey, n);
      } else if (t.registers.get(txn, new ArrayByteIterable(Layout.registerKey(parts[0], parts[1], Delta.OWNER))) == null) {
        t.registers.put(txn, new ArrayByteIterable(docKey), Layout.EMPTY); // its $owner went with the rest
      }
    }
    n.purged = n.head;
    DatabaseInfo counted = n.toInfo(t.info);
    return new DatabaseInfo(counted.name(), newEpoch(System.currentTimeMillis()), counted.head(),
        Math.max(counted.createdAt(), Hlc.msOf(floor) + 1), counted.purgedThrough(), counted.documents(),
        counted.attributes(), counted.tombstones(), counted.ownerChanges());
  }

  @Override
  public int purgeTombstones(String db, long olderThanMs, long maxSeq, int maxEntries) {
    Tables t = tables.get(db);
    if (t == null) return 0;
    Transaction txn = env.beginExclusiveTransaction();
    try {
      Counters n = new Counters(t.info);
      long[] digest = t.digest.clone();
      List<byte[]> regKeys = new ArrayList<>();
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
          last = seq;
          has = c.getNext();
        }
        end = !has || atLimit || last >= maxSeq;
      }
      // the next step goes on from here; after the newest entry, over again from the oldest
      t.purgeAfter = end ? 0 : last;
      int removed = 0;
      for (byte[] regKey : regKeys) removed += purgeRegister(t, txn, regKey, olderThanMs, n, digest);
      if (removed == 0) {
        txn.abort();
        return 0;
      }
      DatabaseInfo after = n.toInfo(t.info);
      meta.put(txn, key(db), infoBytes(after));
      digests.write(txn, db, t.digest, digest);
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
      t.digest = digest;
      t.info = after;
      return removed;
    } catch (RuntimeException e) {
      if (!txn.isFinished()) txn.abort();
      throw e;
    }
  }

  /** Purges one register if it is an old tombstone, or its whole document if that is destroyed. */
  private int purgeRegister(Tables t, Transaction txn, byte[] regKey, long olderThanMs, Counters n, long[] digest) {
    ByteIterable reg = t.registers.get(txn, new ArrayByteIterable(regKey));
    if (reg == null || Hlc.msOf(Layout.tsOf(reg)) >= olderThanMs) return 0;
    byte flags = Layout.flagsOf(reg);
    if ((flags & DESTROYS) != 0) return purgeDestroyedDocument(t, txn, regKey, Layout.tsOf(reg), n, digest);
    if ((flags & REMOVED) == 0) return 0;
    removeRegister(t, txn, regKey, reg, n, digest);
    byte[] docKey = Layout.documentPrefixOf(regKey);
    if (!documentExists(t, txn, docKey)) removeDocument(t, txn, docKey, n);
    return 1;
  }

  private int purgeDestroyedDocument(Tables t, Transaction txn, byte[] deletedKey, String deletedTs, Counters n,
      long[] digest) {
    byte[] prefix = Layout.documentPrefixOf(deletedKey);
    List<byte[]> keys = new ArrayList<>();
    try (Cursor c = t.registers.openCursor(txn)) {
      if (c.getSearchKeyRange(new ArrayByteIterable(prefix)) == null) return 0;
      do {
        if (!Layout.startsWith(c.getKey(), prefix)) break;
        if (Layout.isDocumentKey(c.getKey())) continue;
        // something written after the destroy keeps the document visible: leave it alone
        if (Layout.tsOf(c.getValue()).compareTo(deletedTs) > 0) return 0;
        keys.add(Layout.copy(c.getKey()));
      } while (c.getNext());
    }
    for (byte[] k : keys) removeRegister(t, txn, k, t.registers.get(txn, new ArrayByteIterable(k)), n, digest);
    removeDocument(t, txn, prefix, n);
    return keys.size();
  }

  /** Whether the document still has a register (not whether its entry is there). */
  private static boolean documentExists(Tables t, Transaction txn, byte[] docKey) {
    try (Cursor c = t.registers.openCursor(txn)) {
      boolean has = c.getSearchKeyRange(new ArrayByteIterable(docKey)) != null;
      if (has && c.getKey().getLength() == docKey.length && Layout.startsWith(c.getKey(), docKey)) has = c.getNext(); // its entry
      return has && Layout.startsWith(c.getKey(), docKey);
    }
  }

  private static void removeDocument(Tables t, Transaction txn, byte[] docKey, Counters n) {
    t.registers.delete(txn, new ArrayByteIterable(docKey));
    n.documents--;
  }

  private void removeRegister(Tables t, Transaction txn, byte[] regKey, ByteIterable reg, Counters n, long[] digest) {
    long seq = Layout.seqOf(reg);
    if (!isLocal(t.info.name(), Layout.partsOf(regKey)[0])) {
      digest[Digests.bucketOf(Layout.documentPrefixOf(regKey))] ^= Layout.hashOf(reg);
    }
    t.log.delete(txn, LongBinding.longToEntry(seq));
    t.registers.delete(txn, new ArrayByteIterable(regKey));
    n.attributes--;
    if ((Layout.flagsOf(reg) & REMOVED) != 0) n.tombstones--;
    n.purged = Math.max(n.purged, seq);
  }

  // ---- peers ----

  private void storeCursor(Transaction txn, PeerCursor c) {
    byte[] epoch = c.epoch().getBytes(StandardCharsets.UTF_8);
    ByteBuffer v = ByteBuffer.allocate(8 + epoch.length).putLong(c.seq()).put(epoch);
    peerStore.put(txn, raw(IN + c.peer() + '\0' + c.db()), new ArrayByteIterable(v.array()));
  }

  @Override
  public void savePeerAcks(Collection<PeerAck> acks) {
    if (acks.isEmpty()) return;
    env.executeInExclusiveTransaction(txn -> {
      for (PeerAck a : acks) {
        byte[] epoch = (a.epoch() + '\0' + a.peerEpoch()).getBytes(StandardCharsets.UTF_8);
        ByteBuffer v = ByteBuffer.allocate(16 + epoch.length).putLong(a.seq()).putLong(a.peerHead()).put(epoch);
        peerStore.put(txn, raw(OUT + a.peer() + '\0' + a.db()), new ArrayByteIterable(v.array()));
      }
    });
  }

  @Override
  public void saveCursors(Collection<PeerCursor> cursors) {
    if (cursors.isEmpty()) return;
    env.executeInExclusiveTransaction(txn -> {
      for (PeerCursor c : cursors) {
        ByteIterable old = peerStore.get(txn, raw(IN + c.peer() + '\0' + c.db()));
        if (old != null) {
          byte[] v = Layout.copy(old);
          long seq = ByteBuffer.wrap(v).getLong();
          String epoch = new String(v, 8, v.length - 8, StandardCharsets.UTF_8);
          if (epoch.equals(c.epoch()) && seq >= c.seq()) continue; // a data write already stored as much
        }
        storeCursor(txn, c);
      }
    });
  }

  @Override
  public void forgetPeer(String peer) {
    env.executeInExclusiveTransaction(txn -> {
      List<ByteIterable> keys = new ArrayList<>();
      for (String side : List.of(IN, OUT)) {
        scanPeers(txn, side + peer + '\0', (k, v) -> keys.add(raw(k)));
      }
      keys.forEach(k -> peerStore.delete(txn, k));
    });
  }

  @Override
  public Map<String, PeerCursor> peerCursors(String peer) {
    return env.computeInReadonlyTransaction(txn -> {
      Map<String, PeerCursor> out = new HashMap<>();
      String prefix = IN + peer + '\0';
      scanPeers(txn, prefix, (k, v) -> {
        String db = k.substring(prefix.length());
        ByteBuffer b = ByteBuffer.wrap(v);
        long seq = b.getLong();
        out.put(db, new PeerCursor(peer, db, new String(v, 8, v.length - 8, StandardCharsets.UTF_8), seq));
      });
      return out;
    });
  }

  @Override
  public List<PeerAck> peerAcks() {
    return env.computeInReadonlyTransaction(txn -> {
      List<PeerAck> out = new ArrayList<>();
      scanPeers(txn, OUT, (k, v) -> {
        String[] parts = k.split("\0", 3);
        ByteBuffer b = ByteBuffer.wrap(v);
        long seq = b.getLong();
        long head = b.getLong();
        String[] epochs = new String(v, 16, v.length - 16, StandardCharsets.UTF_8).split("\0", 2);
        out.add(new PeerAck(parts[1], parts[2], epochs[0], seq, head, epochs.length > 1 ? epochs[1] : ""));
      });
      return out;
    });
  }

  private void scanPeers(Transaction txn, String prefix, java.util.function.BiConsumer<String, byte[]> each) {
    byte[] p = prefix.getBytes(StandardCharsets.UTF_8);
    try (Cursor c = peerStore.openCursor(txn)) {
      if (c.getSearchKeyRange(new ArrayByteIterable(p)) == null) return;
      do {
        if (!Layout.startsWith(c.getKey(), p)) break;
        each.accept(new String(Layout.copy(c.getKey()), StandardCharsets.UTF_8), Layout.copy(c.getValue()));
      } while (c.getNext());
    }
  }

  // ---- reads ----

  @Override
  public ChangePage changesSince(String db, Set<String> cols, ReadFilter filter, long afterSeq, int maxDeltas, int maxBytes) {
    Tables t = tables.get(db);
    if (t == null) return null;
    byte[][] colPrefixes = cols == null ? null : cols.stream().map(Layout::collectionPrefix).toArray(byte[][]::new);
    return readLog(t, (txn, checkEvery) -> {
      ByteIterable infoBytes = meta.get(txn, key(db));
      if (infoBytes == null) return null; // destroyed since the lookup above
      DatabaseInfo info = readInfo(infoBytes);
      List<byte[]> out = new ArrayList<>();
      long seq = afterSeq;
      int bytes = 0;
      boolean more = false;
      try (Cursor c = t.log.openCursor(txn)) {
        boolean has = c.getSearchKeyRange(LongBinding.longToEntry(afterSeq + 1)) != null;
        while (has) {
          if (out.size() >= maxDeltas || bytes >= maxBytes) {
            more = true;
            break;
          }
          ByteIterable v = c.getValue();
          seq = LongBinding.entryToLong(c.getKey());
          if ((colPrefixes == null || Layout.logMatchesAny(v, colPrefixes)) && isCurrent(t, txn, seq, v, checkEvery)
              && (filter == null || allows(t, txn, v, filter))) {
            byte[] json = Layout.jsonOf(v);
            out.add(json);
            bytes += json.length + 1;
          }
          has = c.getNext();
        }
      }
      if (!more) seq = Math.max(seq, info.head());
      return new ChangePage(out, seq, more, info.head(), info.purgedThrough());
    });
  }

  /**
   * Runs a read of {@code t}'s log in a snapshot; when a sweep committed meanwhile, once more
   * with {@code checkEvery}, since the sweep may have unlisted stale entries the snapshot still
   * holds ({@link StaleEntries}).
   */
  private <T> T readLog(Tables t, java.util.function.BiFunction<Transaction, Boolean, T> read) {
    long sweeps = t.stale.sweeps();
    T result = env.computeInReadonlyTransaction(txn -> read.apply(txn, false));
    if (t.stale.sweeps() == sweeps) return result;
    return env.computeInReadonlyTransaction(txn -> read.apply(txn, true));
  }

  /** Whether log entry {@code seq} is its register's newest, not one superseded and waiting for a sweep. */
  private static boolean isCurrent(Tables t, Transaction txn, long seq, ByteIterable log, boolean checkEvery) {
    if (!checkEvery && !t.stale.mayBeStale(seq)) return true;
    ByteIterable reg = t.registers.get(txn, new ArrayByteIterable(Layout.regKeyOf(log)));
    return reg != null && Layout.seqOf(reg) == seq;
  }

  private static boolean allows(Tables t, Transaction txn, ByteIterable log, ReadFilter filter) {
    String[] parts = Layout.partsOf(Layout.regKeyOf(log));
    String owner = null;
    if (filter.needsOwner(parts[0])) {
      ByteIterable doc = t.registers.get(txn, new ArrayByteIterable(Layout.documentPrefix(parts[0], parts[1])));
      owner = doc == null ? null : Layout.ownerOf(doc);
    }
    return filter.allows(parts[0], parts[2], owner);
  }

  @Override
  public RegisterPage registersInBuckets(String db, BitSet buckets, byte[] afterKey, int maxDeltas, int maxBytes,
      long purgeableBeforeMs) {
    Tables t = tables.get(db);
    if (t == null) return null;
    return env.computeInReadonlyTransaction(txn -> {
      List<byte[]> out = new ArrayList<>();
      int bytes = 0;
      byte[] last = afterKey;
      byte[] docPrefix = null;
      boolean inBucket = false;
      List<StoredRegister> doc = new ArrayList<>(); // the current document's registers, when in the buckets
      int docBytes = 0;
      try (Cursor c = t.registers.openCursor(txn)) {
        boolean has = afterKey == null ? c.getNext() : c.getSearchKeyRange(new ArrayByteIterable(afterKey)) != null;
        if (has && afterKey != null && Layout.startsWith(c.getKey(), afterKey) && c.getKey().getLength() == afterKey.length) {
          has = c.getNext(); // after, not at
        }
        for (; has; has = c.getNext()) {
          if (Layout.isDocumentKey(c.getKey())) continue;
          byte[] key = Layout.copy(c.getKey());
          if (docPrefix == null || !Layout.startsWith(c.getKey(), docPrefix)) {
            bytes += emit(doc, purgeableBeforeMs, out);
            doc.clear();
            docBytes = 0;
            // a page ends between documents, so a repair never lands half a document
            if (out.size() >= maxDeltas || bytes >= maxBytes) return new RegisterPage(out, last, true);
            docPrefix = Layout.documentPrefixOf(key);
            inBucket = buckets.get(Digests.bucketOf(docPrefix)) && !isLocal(db, Layout.partsOf(key)[0]);
          }
          last = key;
          if (!inBucket) continue;
          ByteIterable reg = c.getValue();
          byte[] json = Layout.jsonOf(t.log.get(txn, LongBinding.longToEntry(Layout.seqOf(reg))));
          doc.add(new StoredRegister(Layout.flagsOf(reg), Layout.tsOf(reg), json));
          docBytes += json.length + 1;
          if (docBytes >= maxBytes + maxBytes / 2) {
            emit(doc, purgeableBeforeMs, out); // one document larger than a page: split after all
            return new RegisterPage(out, last, true);
          }
        }
      }
      emit(doc, purgeableBeforeMs, out);
      return new RegisterPage(out, last, false);
    });
  }

  private record StoredRegister(byte flags, String ts, byte[] json) {}

  /**
   * Adds a document's registers to a repair page, leaving out what a purge at
   * {@code purgeableBeforeMs} removes (old tombstones; a document destroyed that long ago with
   * nothing written since): sending those would only bring back what a peer purged already.
   */
  private static int emit(List<StoredRegister> doc, long purgeableBeforeMs, List<byte[]> out) {
    String destroyedAt = null;
    for (StoredRegister r : doc) {
      if ((r.flags() & DESTROYS) != 0 && Hlc.msOf(r.ts()) < purgeableBeforeMs) destroyedAt = r.ts();
    }
    if (destroyedAt != null) {
      String at = destroyedAt;
      if (doc.stream().noneMatch(r -> r.ts().compareTo(at) > 0)) return 0; // the whole document is purgeable
    }
    int bytes = 0;
    for (StoredRegister r : doc) {
      if ((r.flags() & REMOVED) != 0 && Hlc.msOf(r.ts()) < purgeableBeforeMs) continue;
      out.add(r.json());
      bytes += r.json().length + 1;
    }
    return bytes;
  }

  @Override
  public List<Delta> registers(String db, String col) {
    Tables t = tables.get(db);
    if (t == null) return List.of();
    byte[][] prefix = {Layout.collectionPrefix(col)};
    return readLog(t, (txn, checkEvery) -> {
      List<Delta> out = new ArrayList<>();
      try (Cursor c = t.log.openCursor(txn)) {
        while (c.getNext()) {
          if (!Layout.logMatchesAny(c.getValue(), prefix)
              || !isCurrent(t, txn, LongBinding.entryToLong(c.getKey()), c.getValue(), checkEvery)) {
            continue;
          }
          try {
            out.add(Json.MAPPER.readValue(Layout.jsonOf(c.getValue()), Delta.class));
          } catch (java.io.IOException e) {
            throw new IllegalStateException("corrupt log entry in " + db, e);
          }
        }
      }
      return out;
    });
  }

  @Override
  public Optional<DatabaseInfo> database(String db) {
    Tables t = tables.get(db);
    return t == null ? Optional.empty() : Optional.of(t.info);
  }

  @Override
  public List<DatabaseInfo> databases() {
    return tables.values().stream().map(t -> t.info).sorted((a, b) -> a.name().compareTo(b.name())).toList();
  }

  @Override
  public Optional<DatabaseDigest> digest(String db) {
    Tables t = tables.get(db);
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
  public boolean cleanLog() {
    return cleaner.cleanOne();
  }

  @Override
  public int sweepLog(int maxEntries) {
    Map<Tables, long[]> swept = new HashMap<>();
    int n = 0;
    Transaction txn = env.beginExclusiveTransaction();
    try {
      for (Tables t : tables.values()) {
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
    } catch (RuntimeException e) {
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
    for (Tables t : tables.values()) n += t.stale.size();
    return n;
  }

  @Override
  public void renewEpochs() {
    Map<Tables, DatabaseInfo> renewed = new HashMap<>();
    env.executeInExclusiveTransaction(txn -> {
      for (Tables t : tables.values()) {
        DatabaseInfo i = t.info;
        DatabaseInfo next = new DatabaseInfo(i.name(), newEpoch(System.currentTimeMillis()), i.head(), i.createdAt(),
            i.purgedThrough(), i.documents(), i.attributes(), i.tombstones(), i.ownerChanges());
        meta.put(txn, key(i.name()), infoBytes(next));
        renewed.put(t, next);
      }
    });
    renewed.forEach((t, info) -> t.info = info); // published once durable
  }

  @Override
  public long diskBytes() {
    return env.getStatistics().getStatisticsItem(jetbrains.exodus.env.EnvironmentStatistics.Type.DISK_USAGE).getTotal();
  }

  @Override
  public void close() {
    env.close();
  }

  // ---- encodings ----

  private static ArrayByteIterable key(String s) {
    return StringBinding.stringToEntry(s);
  }

  /** A key of {@code $peers}: plain UTF-8, since its parts are separated by NUL. */
  private static ArrayByteIterable raw(String s) {
    return new ArrayByteIterable(s.getBytes(StandardCharsets.UTF_8));
  }

  private static ArrayByteIterable infoBytes(DatabaseInfo info) {
    return new ArrayByteIterable(Json.bytes(info));
  }

  private static DatabaseInfo readInfo(ByteIterable bytes) {
    try {
      return Json.MAPPER.readValue(bytes.getBytesUnsafe(), 0, bytes.getLength(), DatabaseInfo.class);
    } catch (java.io.IOException e) {
      throw new IllegalStateException("corrupt database metadata", e);
    }
  }
}
