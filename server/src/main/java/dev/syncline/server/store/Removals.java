package dev.syncline.server.store;

import static dev.syncline.server.store.Layout.DESTROYS;
import static dev.syncline.server.store.Layout.REMOVED;
import static dev.syncline.server.store.Layout.VALUES_PURGED;

import com.fasterxml.jackson.databind.node.BooleanNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.MessageCodec;
import java.util.ArrayList;
import java.util.List;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.bindings.LongBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Transaction;

/**
 * Removing registers and documents inside a writer transaction, keeping the counts and the digest
 * right: what a destroy trims and what a tombstone purge takes.
 */
final class Removals {
  private Removals() {}

  /** What a part of a scan found: a register after the floor, or else the key the next part starts from (null: the end). */
  record Scan(boolean found, byte[] next) {}

  /** Looks at up to {@code limit} registers from {@code from} (null: the first) for one stamped after {@code ts}. */
  static Scan registerAfter(DatabaseTables t, Transaction txn, String ts, byte[] from, int limit) {
    try (Cursor c = t.registers.openCursor(txn)) {
      boolean has = from == null ? c.getNext() : c.getSearchKeyRange(new ArrayByteIterable(from)) != null;
      for (int looked = 0; has; has = c.getNext(), looked++) {
        if (looked >= limit) return new Scan(false, Layout.copy(c.getKey()));
        if (!Layout.isDocumentKey(c.getKey()) && Layout.tsOf(c.getValue()).compareTo(ts) > 0) return new Scan(true, null);
      }
    }
    return new Scan(false, null);
  }

  /** Whether a register (not a document entry) of the database is stamped after {@code ts}. */
  static boolean hasRegisterAfter(DatabaseTables t, Transaction txn, String ts) {
    try (Cursor c = t.registers.openCursor(txn)) {
      while (c.getNext()) if (!Layout.isDocumentKey(c.getKey()) && Layout.tsOf(c.getValue()).compareTo(ts) > 0) return true;
    }
    return false;
  }

  /**
   * What a purge step may remove: tombstones older than {@code olderThanMs} with a seq at most
   * {@code maxSeq} (what every peer has confirmed: a peer that has not seen a tombstone must get it
   * before it goes, or the value it removed would come back); a destroyed document's
   * {@code $deleted}, once it stands alone, only older than {@code destroyedOlderThanMs} with a seq
   * at most {@code destroyedMaxSeq}.
   */
  record PurgeLimits(long olderThanMs, long maxSeq, long destroyedOlderThanMs, long destroyedMaxSeq) {}

  /**
   * Purges one register if it is an old tombstone, or a destroyed document's registers (see
   * {@link Store#purgeTombstones}), when {@code logSeq} is its own log entry's.
   */
  static int purgeRegister(DatabaseTables t, Transaction txn, byte[] regKey, long logSeq, PurgeLimits limits, Counters n,
      long[] digest, List<CommittedDelta> recommitted) {
    ByteIterable reg = t.registers.get(txn, new ArrayByteIterable(regKey));
    // only from the register's own log entry: a superseded one not swept yet would visit it twice in
    // a step (a document destroyed twice: its values, then its $deleted, in one call)
    if (reg == null || Layout.seqOf(reg) != logSeq || logSeq > limits.maxSeq()
        || Hlc.msOf(Layout.tsOf(reg)) >= limits.olderThanMs()) {
      return 0;
    }
    byte flags = Layout.flagsOf(reg);
    if ((flags & DESTROYS) != 0) return purgeDestroyedDocument(t, txn, regKey, reg, limits, n, digest, recommitted);
    if ((flags & REMOVED) == 0) return 0;
    removeRegister(t, txn, regKey, reg, n, digest);
    byte[] docKey = Layout.documentPrefixOf(regKey);
    if (!documentExists(t, txn, docKey)) removeDocument(t, txn, docKey, n);
    return 1;
  }

  /**
   * Removes a destroyed document's other registers, then, once it stands alone and is old enough,
   * its {@code $deleted}. The values go without moving the purge point: a client that holds one
   * of them still gets the {@code $deleted}, which hides them, from where it is.
   */
  private static int purgeDestroyedDocument(DatabaseTables t, Transaction txn, byte[] deletedKey, ByteIterable deleted,
      PurgeLimits limits, Counters n, long[] digest, List<CommittedDelta> recommitted) {
    byte[] prefix = Layout.documentPrefixOf(deletedKey);
    byte[] ownerKey = Layout.registerKey(prefix, Delta.OWNER);
    String deletedTs = Layout.tsOf(deleted);
    List<byte[]> keys = new ArrayList<>();
    boolean owned = false;
    try (Cursor c = t.registers.openCursor(txn)) {
      if (c.getSearchKeyRange(new ArrayByteIterable(prefix)) == null) return 0;
      do {
        if (!Layout.startsWith(c.getKey(), prefix)) break;
        if (Layout.isDocumentKey(c.getKey()) || is(c.getKey(), deletedKey)) continue;
        // something written after the destroy keeps the document visible: leave it alone
        if (Layout.tsOf(c.getValue()).compareTo(deletedTs) > 0) return 0;
        // an older write that arrived late, not yet at every peer: the document waits for it
        if (Layout.seqOf(c.getValue()) > limits.maxSeq()) return 0;
        // the $owner stays with the $deleted: a server or client that gets the document from here
        // on must know whose it is, as this one does, to judge a later write or restore alike
        if (is(c.getKey(), ownerKey)) owned = true;
        else keys.add(Layout.copy(c.getKey()));
      } while (c.getNext());
    }
    if (!keys.isEmpty() || (Layout.flagsOf(deleted) & VALUES_PURGED) == 0) {
      long purged = n.purged;
      for (byte[] k : keys) removeRegister(t, txn, k, t.registers.get(txn, new ArrayByteIterable(k)), n, digest);
      n.purged = purged;
      // never the $deleted with them: it is committed again, after every cursor, so a catch-up
      // that was sent the values, or a client that went away holding them, still gets it, and it
      // goes a retention after this commit, also when both limits passed at once (a peer back
      // after long, a server stopped for long)
      recommitted.add(commitAgain(t, txn, deletedKey, deleted, n));
      return keys.size();
    }
    if (Layout.seqOf(deleted) > limits.destroyedMaxSeq() || Hlc.msOf(deletedTs) >= limits.destroyedOlderThanMs()) return 0;
    if (owned) removeRegister(t, txn, ownerKey, t.registers.get(txn, new ArrayByteIterable(ownerKey)), n, digest);
    removeRegister(t, txn, deletedKey, deleted, n, digest);
    removeDocument(t, txn, prefix, n);
    return owned ? 2 : 1;
  }

  private static boolean is(ByteIterable key, byte[] expected) {
    return key.getLength() == expected.length && Layout.startsWith(key, expected);
  }

  /**
   * Moves a destroyed document's {@code $deleted} to a new seq, marked {@link Layout#VALUES_PURGED};
   * its timestamp, value and hash (so the digest) stay. Returns it as committed: subscribers that
   * hold it take it as a duplicate, and peers confirm its seq, which its purge waits for.
   */
  private static CommittedDelta commitAgain(DatabaseTables t, Transaction txn, byte[] deletedKey, ByteIterable deleted,
      Counters n) {
    long oldSeq = Layout.seqOf(deleted);
    ByteIterable oldEntry = t.log.get(txn, LongBinding.longToEntry(oldSeq));
    long seq = ++n.head;
    // marked, so that subscribers drop the values they hold of it too
    byte[] json = MessageCodec.withSeq(MessageCodec.withValuesPurged(Layout.openOf(Layout.jsonOf(oldEntry))), seq);
    t.log.delete(txn, LongBinding.longToEntry(oldSeq));
    t.log.putRight(txn, LongBinding.longToEntry(seq), Layout.logValue(deletedKey, json));
    String ts = Layout.tsOf(deleted);
    t.registers.put(txn, new ArrayByteIterable(deletedKey),
        Layout.registerValue(seq, (byte) (Layout.flagsOf(deleted) | VALUES_PURGED), Layout.hashOf(deleted), ts));
    String[] parts = Layout.partsOf(deletedKey);
    ByteIterable doc = t.registers.get(txn, new ArrayByteIterable(Layout.documentPrefixOf(deletedKey)));
    String owner = doc == null ? null : Layout.ownerOf(doc);
    Delta delta = new Delta(parts[0], parts[1], parts[2], BooleanNode.TRUE, ts).withSeq(seq);
    return new CommittedDelta(delta, json, owner, owner, null);
  }

  /** Whether the document still has a register (not whether its entry is there). */
  static boolean documentExists(DatabaseTables t, Transaction txn, byte[] docKey) {
    try (Cursor c = t.registers.openCursor(txn)) {
      boolean has = c.getSearchKeyRange(new ArrayByteIterable(docKey)) != null;
      if (has && c.getKey().getLength() == docKey.length && Layout.startsWith(c.getKey(), docKey)) has = c.getNext(); // its entry
      return has && Layout.startsWith(c.getKey(), docKey);
    }
  }

  static void removeDocument(DatabaseTables t, Transaction txn, byte[] docKey, Counters n) {
    t.registers.delete(txn, new ArrayByteIterable(docKey));
    n.documents--;
  }

  /** Removes a register, its log entry and its share of the digest. */
  static void removeRegister(DatabaseTables t, Transaction txn, byte[] regKey, ByteIterable reg, Counters n, long[] digest) {
    long seq = Layout.seqOf(reg);
    if (!t.isLocal(Layout.partsOf(regKey)[0])) {
      digest[Digests.bucketOf(Layout.documentPrefixOf(regKey))] ^= Layout.hashOf(reg);
    }
    t.log.delete(txn, LongBinding.longToEntry(seq));
    t.registers.delete(txn, new ArrayByteIterable(regKey));
    n.attributes--;
    if ((Layout.flagsOf(reg) & REMOVED) != 0) n.tombstones--;
    n.purged = Math.max(n.purged, seq);
  }
}
