package dev.syncline.server.store;

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
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
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
 * One environment holds every database. Per database {@code D}:
 * <ul>
 *   <li>{@code reg:D} — the registers. Key {@code col\0id\0attr} (UTF-8; names cannot hold NUL, so
 *       keys sort by document and a document's registers are adjacent). Value: seq (8 bytes),
 *       flags (1 byte: {@link #REMOVED}, {@link #DESTROYS}), then the HLC timestamp.
 *   <li>{@code doc:D} — one key per stored document, {@code col\0id\0}; the value is the
 *       document's {@code $owner} (UTF-8, empty for none). Whether a write is a document's first,
 *       and who owns it, is one lookup, not a scan of its registers.
 *   <li>{@code log:D} — the compacted change log. Key: seq (order-preserving 8 bytes). Value: the
 *       register key's length (4 bytes), the register key, then the delta's wire encoding with its
 *       seq. When a register is overwritten its old log entry is deleted, so the log holds exactly
 *       one entry per register and catch-up copies stored bytes to the socket without re-encoding.
 * </ul>
 * {@code $meta} maps each database name to its {@link DatabaseInfo}, updated in the same
 * transaction as the data, so head and counts can never disagree with what is stored.
 *
 * <h2>Durability</h2>
 * With {@code durable}, {@code setLogDurableWrite(true)}: a commit returns only after fsync.
 */
final class XodusStore implements Store {
  static final byte REMOVED = 1;
  static final byte DESTROYS = 2;
  private static final String META = "$meta";

  private final Environment env;
  private final jetbrains.exodus.env.Store meta;
  private final Map<String, Tables> tables = new ConcurrentHashMap<>();

  /** A database's two Xodus stores and its metadata as of the last commit. */
  private static final class Tables {
    final jetbrains.exodus.env.Store registers;
    final jetbrains.exodus.env.Store documents;
    final jetbrains.exodus.env.Store log;
    volatile DatabaseInfo info;

    Tables(jetbrains.exodus.env.Store registers, jetbrains.exodus.env.Store documents,
        jetbrains.exodus.env.Store log, DatabaseInfo info) {
      this.registers = registers;
      this.documents = documents;
      this.log = log;
      this.info = info;
    }
  }

  private static final ArrayByteIterable PRESENT = new ArrayByteIterable(new byte[0]);

  XodusStore(Path dir, boolean durable, long cacheBytes) {
    EnvironmentConfig config = new EnvironmentConfig()
        .setLogDurableWrite(durable)
        .setEnvCloseForcedly(true);
    if (cacheBytes > 0) config.setMemoryUsage(cacheBytes);
    else config.setMemoryUsagePercentage(25);
    env = Environments.newInstance(dir.toFile(), config);
    meta = env.computeInExclusiveTransaction(txn -> {
      jetbrains.exodus.env.Store m = env.openStore(META, StoreConfig.WITHOUT_DUPLICATES, txn);
      try (Cursor c = m.openCursor(txn)) {
        while (c.getNext()) {
          DatabaseInfo info = readInfo(c.getValue());
          tables.put(info.name(), openTables(info, txn));
        }
      }
      return m;
    });
  }

  private Tables openTables(DatabaseInfo info, Transaction txn) {
    return new Tables(
        env.openStore("reg:" + info.name(), StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn),
        env.openStore("doc:" + info.name(), StoreConfig.WITHOUT_DUPLICATES_WITH_PREFIXING, txn),
        env.openStore("log:" + info.name(), StoreConfig.WITHOUT_DUPLICATES, txn),
        info);
  }

  // ---- writes ----

  @Override
  public List<BatchOutcome> commit(List<WriteBatch> batches) {
    Map<String, DatabaseInfo> newInfo = new HashMap<>();
    List<BatchOutcome> outcomes = new ArrayList<>(batches.size());
    Transaction txn = env.beginExclusiveTransaction();
    try {
      for (WriteBatch batch : batches) {
        Tables t = tables.get(batch.db());
        if (t == null) {
          outcomes.add(new BatchOutcome(batch.db(), true, List.of(), List.of(), 0));
          continue;
        }
        DatabaseInfo before = newInfo.getOrDefault(batch.db(), t.info);
        Counters n = new Counters(before);
        List<Merge.Outcome> results = new ArrayList<>(batch.deltas().size());
        List<CommittedDelta> committed = new ArrayList<>();
        Set<String> created = new HashSet<>();
        for (int i = 0; i < batch.deltas().size(); i++) {
          Delta d = batch.deltas().get(i);
          results.add(d == null ? null : apply(t, txn, batch, d, batch.encoded().get(i), n, committed, created));
        }
        DatabaseInfo after = n.toInfo(before);
        if (after != before) newInfo.put(batch.db(), after);
        outcomes.add(new BatchOutcome(batch.db(), false, results, committed, after.head()));
      }
      for (DatabaseInfo info : newInfo.values()) meta.put(txn, key(info.name()), infoBytes(info));
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
    } catch (RuntimeException e) {
      if (!txn.isFinished()) txn.abort();
      throw e;
    }
    // publish the new metadata only once it is durable
    newInfo.forEach((db, info) -> tables.get(db).info = info);
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

  /**
   * Merges one delta. Returns null when the batch's guard refuses it. The first write of a
   * document records it in {@code doc:D} with the batch's writer as owner, and (for a signed-in
   * writer) writes the {@code $owner} register just before it, stamped with the same ts.
   */
  private Merge.Outcome apply(Tables t, Transaction txn, WriteBatch batch, Delta d, byte[] encodedOpen, Counters n,
      List<CommittedDelta> out, Set<String> createdHere) {
    ArrayByteIterable docKey = new ArrayByteIterable(documentPrefix(d.col(), d.id()));
    ByteIterable doc = t.documents.get(txn, docKey);
    String owner = doc == null ? null : ownerOf(doc);
    byte[] regKey = registerKey(d.col(), d.id(), d.attr());
    ArrayByteIterable regKeyEntry = new ArrayByteIterable(regKey);
    ByteIterable old = t.registers.get(txn, regKeyEntry);
    Merge.Outcome outcome = Merge.decide(old == null ? null : tsOf(old), d.ts());
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
      t.documents.put(txn, docKey, ownerValue(owner));
      n.documents++;
      if (owner != null && !d.attr().equals(Delta.OWNER)) {
        Delta ownerDelta = new Delta(d.col(), d.id(), Delta.OWNER, TextNode.valueOf(owner), d.ts());
        write(t, txn, ownerDelta, registerKey(d.col(), d.id(), Delta.OWNER), MessageCodec.encodeDeltaOpen(ownerDelta),
            null, n, out, owner, owner);
      }
    }
    String previousOwner = owner;
    if (d.attr().equals(Delta.OWNER)) {
      String next = d.value().isTextual() ? d.value().textValue() : null;
      if (doc != null && !java.util.Objects.equals(owner, next)) n.ownerChanges++;
      else previousOwner = next; // a first write or the same owner again: no transfer
      owner = next;
      t.documents.put(txn, docKey, ownerValue(owner));
    }
    write(t, txn, d, regKey, encodedOpen, old, n, out, owner, previousOwner);
    return outcome;
  }

  /** Stores a winning delta: its register, its log entry (replacing the register's old one), and the counts. */
  private static void write(Tables t, Transaction txn, Delta d, byte[] regKey, byte[] encodedOpen, ByteIterable old,
      Counters n, List<CommittedDelta> out, String owner, String previousOwner) {
    if (old != null) {
      t.log.delete(txn, LongBinding.longToEntry(seqOf(old)));
      if ((flagsOf(old) & REMOVED) != 0) n.tombstones--;
    } else {
      n.attributes++;
    }
    long seq = ++n.head;
    byte[] json = MessageCodec.withSeq(encodedOpen, seq);
    byte flags = 0;
    if (d.isRemoval()) {
      flags |= REMOVED;
      n.tombstones++;
    }
    if (d.attr().equals(Delta.DELETED) && d.value().asBoolean()) flags |= DESTROYS;
    t.registers.put(txn, new ArrayByteIterable(regKey), registerValue(seq, flags, d.ts()));
    t.log.put(txn, LongBinding.longToEntry(seq), logValue(regKey, json));
    out.add(new CommittedDelta(d.withSeq(seq), json, owner, previousOwner));
  }

  private static boolean documentExists(Tables t, Transaction txn, String col, String id) {
    byte[] prefix = documentPrefix(col, id);
    try (Cursor c = t.registers.openCursor(txn)) {
      ByteIterable found = c.getSearchKeyRange(new ArrayByteIterable(prefix));
      return found != null && startsWith(c.getKey(), prefix);
    }
  }

  @Override
  public Optional<DatabaseInfo> createDatabase(String db, long createdAtMs) {
    if (tables.containsKey(db)) return Optional.empty();
    String epoch = Long.toString(createdAtMs, 36) + "-" + Long.toString(java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 40), 36);
    DatabaseInfo info = new DatabaseInfo(db, epoch, 0, createdAtMs, 0, 0, 0, 0, 0);
    Tables t = env.computeInExclusiveTransaction(txn -> {
      Tables opened = openTables(info, txn);
      meta.put(txn, key(db), infoBytes(info));
      return opened;
    });
    tables.put(db, t);
    return Optional.of(info);
  }

  @Override
  public boolean destroyDatabase(String db) {
    if (!tables.containsKey(db)) return false;
    env.executeInExclusiveTransaction(txn -> {
      env.removeStore("reg:" + db, txn);
      env.removeStore("doc:" + db, txn);
      env.removeStore("log:" + db, txn);
      meta.delete(txn, key(db));
    });
    tables.remove(db);
    return true;
  }

  @Override
  public int purgeTombstones(String db, long olderThanMs, int maxEntries) {
    Tables t = tables.get(db);
    if (t == null) return 0;
    Transaction txn = env.beginExclusiveTransaction();
    try {
      Counters n = new Counters(t.info);
      int removed = 0;
      List<byte[]> regKeys = new ArrayList<>();
      try (Cursor c = t.log.openCursor(txn)) {
        for (int visited = 0; visited < maxEntries && c.getNext(); visited++) {
          regKeys.add(regKeyOf(c.getValue()));
        }
      }
      for (byte[] regKey : regKeys) removed += purgeRegister(t, txn, regKey, olderThanMs, n);
      if (removed == 0) {
        txn.abort();
        return 0;
      }
      DatabaseInfo after = n.toInfo(t.info);
      meta.put(txn, key(db), infoBytes(after));
      if (!txn.commit()) throw new IllegalStateException("exclusive transaction failed to commit");
      t.info = after;
      return removed;
    } catch (RuntimeException e) {
      if (!txn.isFinished()) txn.abort();
      throw e;
    }
  }

  /** Purges one register if it is an old tombstone, or its whole document if that is destroyed. */
  private int purgeRegister(Tables t, Transaction txn, byte[] regKey, long olderThanMs, Counters n) {
    ByteIterable reg = t.registers.get(txn, new ArrayByteIterable(regKey));
    if (reg == null || Hlc.msOf(tsOf(reg)) >= olderThanMs) return 0;
    byte flags = flagsOf(reg);
    if ((flags & DESTROYS) != 0) return purgeDestroyedDocument(t, txn, regKey, tsOf(reg), n);
    if ((flags & REMOVED) == 0) return 0;
    removeRegister(t, txn, regKey, reg, n);
    if (!documentExists(t, txn, colOf(regKey), idOf(regKey))) removeDocument(t, txn, documentPrefix(colOf(regKey), idOf(regKey)), n);
    return 1;
  }

  private int purgeDestroyedDocument(Tables t, Transaction txn, byte[] deletedKey, String deletedTs, Counters n) {
    byte[] prefix = Arrays.copyOf(deletedKey, deletedKey.length - Delta.DELETED.length());
    List<byte[]> keys = new ArrayList<>();
    try (Cursor c = t.registers.openCursor(txn)) {
      if (c.getSearchKeyRange(new ArrayByteIterable(prefix)) == null) return 0;
      do {
        if (!startsWith(c.getKey(), prefix)) break;
        // something written after the destroy keeps the document visible: leave it alone
        if (tsOf(c.getValue()).compareTo(deletedTs) > 0) return 0;
        keys.add(Arrays.copyOf(c.getKey().getBytesUnsafe(), c.getKey().getLength()));
      } while (c.getNext());
    }
    for (byte[] k : keys) {
      ArrayByteIterable ke = new ArrayByteIterable(k);
      removeRegister(t, txn, k, t.registers.get(txn, ke), n);
    }
    removeDocument(t, txn, prefix, n);
    return keys.size();
  }

  private static void removeDocument(Tables t, Transaction txn, byte[] docKey, Counters n) {
    t.documents.delete(txn, new ArrayByteIterable(docKey));
    n.documents--;
  }

  private static void removeRegister(Tables t, Transaction txn, byte[] regKey, ByteIterable reg, Counters n) {
    long seq = seqOf(reg);
    t.log.delete(txn, LongBinding.longToEntry(seq));
    t.registers.delete(txn, new ArrayByteIterable(regKey));
    n.attributes--;
    if ((flagsOf(reg) & REMOVED) != 0) n.tombstones--;
    n.purged = Math.max(n.purged, seq);
  }

  // ---- reads ----

  @Override
  public ChangePage changesSince(String db, Set<String> cols, ReadFilter filter, long afterSeq, int maxDeltas, int maxBytes) {
    Tables t = tables.get(db);
    if (t == null) return null;
    byte[][] colPrefixes = cols == null ? null : cols.stream().map(XodusStore::collectionPrefix).toArray(byte[][]::new);
    return env.computeInReadonlyTransaction(txn -> {
      DatabaseInfo info = readInfo(meta.get(txn, key(db)));
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
          if ((colPrefixes == null || matchesAny(v, colPrefixes)) && (filter == null || allows(t, txn, v, filter))) {
            byte[] json = jsonOf(v);
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

  private static boolean allows(Tables t, Transaction txn, ByteIterable log, ReadFilter filter) {
    String[] parts = new String(regKeyOf(log), StandardCharsets.UTF_8).split("\0", 3);
    String owner = null;
    if (filter.needsOwner(parts[0])) {
      ByteIterable doc = t.documents.get(txn, new ArrayByteIterable(documentPrefix(parts[0], parts[1])));
      owner = doc == null ? null : ownerOf(doc);
    }
    return filter.allows(parts[0], parts[2], owner);
  }

  @Override
  public List<Delta> registers(String db, String col) {
    Tables t = tables.get(db);
    if (t == null) return List.of();
    byte[][] prefix = {collectionPrefix(col)};
    return env.computeInReadonlyTransaction(txn -> {
      List<Delta> out = new ArrayList<>();
      try (Cursor c = t.log.openCursor(txn)) {
        while (c.getNext()) {
          if (!matchesAny(c.getValue(), prefix)) continue;
          try {
            out.add(Json.MAPPER.readValue(jsonOf(c.getValue()), Delta.class));
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
  public long diskBytes() {
    return env.getStatistics().getStatisticsItem(jetbrains.exodus.env.EnvironmentStatistics.Type.DISK_USAGE).getTotal();
  }

  @Override
  public void close() {
    env.close();
  }

  // ---- encodings ----

  static byte[] registerKey(String col, String id, String attr) {
    return (col + '\0' + id + '\0' + attr).getBytes(StandardCharsets.UTF_8);
  }

  static byte[] documentPrefix(String col, String id) {
    return (col + '\0' + id + '\0').getBytes(StandardCharsets.UTF_8);
  }

  static byte[] collectionPrefix(String col) {
    return (col + '\0').getBytes(StandardCharsets.UTF_8);
  }

  private static String colOf(byte[] regKey) {
    String k = new String(regKey, StandardCharsets.UTF_8);
    return k.substring(0, k.indexOf('\0'));
  }

  private static String idOf(byte[] regKey) {
    String k = new String(regKey, StandardCharsets.UTF_8);
    int a = k.indexOf('\0');
    return k.substring(a + 1, k.indexOf('\0', a + 1));
  }

  private static ArrayByteIterable ownerValue(String owner) {
    return owner == null ? PRESENT : new ArrayByteIterable(owner.getBytes(StandardCharsets.UTF_8));
  }

  private static String ownerOf(ByteIterable doc) {
    return doc.getLength() == 0 ? null : new String(doc.getBytesUnsafe(), 0, doc.getLength(), StandardCharsets.UTF_8);
  }

  private static ArrayByteIterable registerValue(long seq, byte flags, String ts) {
    byte[] tsBytes = ts.getBytes(StandardCharsets.US_ASCII);
    ByteBuffer b = ByteBuffer.allocate(9 + tsBytes.length);
    b.putLong(seq).put(flags).put(tsBytes);
    return new ArrayByteIterable(b.array());
  }

  private static long seqOf(ByteIterable reg) {
    return ByteBuffer.wrap(reg.getBytesUnsafe(), 0, 8).getLong();
  }

  private static byte flagsOf(ByteIterable reg) {
    return reg.getBytesUnsafe()[8];
  }

  private static String tsOf(ByteIterable reg) {
    return new String(reg.getBytesUnsafe(), 9, reg.getLength() - 9, StandardCharsets.US_ASCII);
  }

  private static ArrayByteIterable logValue(byte[] regKey, byte[] json) {
    ByteBuffer b = ByteBuffer.allocate(4 + regKey.length + json.length);
    b.putInt(regKey.length).put(regKey).put(json);
    return new ArrayByteIterable(b.array());
  }

  private static byte[] regKeyOf(ByteIterable log) {
    byte[] raw = log.getBytesUnsafe();
    int len = ByteBuffer.wrap(raw, 0, 4).getInt();
    return Arrays.copyOfRange(raw, 4, 4 + len);
  }

  private static byte[] jsonOf(ByteIterable log) {
    byte[] raw = log.getBytesUnsafe();
    int from = 4 + ByteBuffer.wrap(raw, 0, 4).getInt();
    return Arrays.copyOfRange(raw, from, log.getLength());
  }

  private static boolean matchesAny(ByteIterable log, byte[][] colPrefixes) {
    byte[] raw = log.getBytesUnsafe();
    for (byte[] p : colPrefixes) {
      if (p.length + 4 <= log.getLength() && Arrays.equals(raw, 4, 4 + p.length, p, 0, p.length)) return true;
    }
    return false;
  }

  private static boolean startsWith(ByteIterable key, byte[] prefix) {
    return key.getLength() >= prefix.length
        && Arrays.equals(key.getBytesUnsafe(), 0, prefix.length, prefix, 0, prefix.length);
  }

  private static ByteIterable key(String db) {
    return StringBinding.stringToEntry(db);
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
