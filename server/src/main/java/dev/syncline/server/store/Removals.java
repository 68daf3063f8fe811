package dev.syncline.server.store;

import static dev.syncline.server.store.Layout.DESTROYS;
import static dev.syncline.server.store.Layout.REMOVED;

import dev.syncline.protocol.Hlc;
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

  /** Whether a register (not a document entry) of the database is stamped after {@code ts}. */
  static boolean hasRegisterAfter(DatabaseTables t, Transaction txn, String ts) {
    try (Cursor c = t.registers.openCursor(txn)) {
      while (c.getNext()) if (!Layout.isDocumentKey(c.getKey()) && Layout.tsOf(c.getValue()).compareTo(ts) > 0) return true;
    }
    return false;
  }

  /**
   * Purges one register if it is an old tombstone, or its whole document if that is destroyed;
   * nothing committed after {@code maxSeq} (what every peer has confirmed): a peer that has not
   * seen a tombstone must get it before it goes, or the value it removed would come back.
   */
  static int purgeRegister(DatabaseTables t, Transaction txn, byte[] regKey, long olderThanMs, long maxSeq, Counters n,
      long[] digest) {
    ByteIterable reg = t.registers.get(txn, new ArrayByteIterable(regKey));
    // the log entry that led here may be a superseded one, so the register's own seq is checked
    if (reg == null || Layout.seqOf(reg) > maxSeq || Hlc.msOf(Layout.tsOf(reg)) >= olderThanMs) return 0;
    byte flags = Layout.flagsOf(reg);
    if ((flags & DESTROYS) != 0) return purgeDestroyedDocument(t, txn, regKey, Layout.tsOf(reg), maxSeq, n, digest);
    if ((flags & REMOVED) == 0) return 0;
    removeRegister(t, txn, regKey, reg, n, digest);
    byte[] docKey = Layout.documentPrefixOf(regKey);
    if (!documentExists(t, txn, docKey)) removeDocument(t, txn, docKey, n);
    return 1;
  }

  private static int purgeDestroyedDocument(DatabaseTables t, Transaction txn, byte[] deletedKey, String deletedTs, long maxSeq,
      Counters n, long[] digest) {
    byte[] prefix = Layout.documentPrefixOf(deletedKey);
    List<byte[]> keys = new ArrayList<>();
    try (Cursor c = t.registers.openCursor(txn)) {
      if (c.getSearchKeyRange(new ArrayByteIterable(prefix)) == null) return 0;
      do {
        if (!Layout.startsWith(c.getKey(), prefix)) break;
        if (Layout.isDocumentKey(c.getKey())) continue;
        // something written after the destroy keeps the document visible: leave it alone
        if (Layout.tsOf(c.getValue()).compareTo(deletedTs) > 0) return 0;
        // an older write that arrived late, not yet at every peer: the document waits for it
        if (Layout.seqOf(c.getValue()) > maxSeq) return 0;
        keys.add(Layout.copy(c.getKey()));
      } while (c.getNext());
    }
    for (byte[] k : keys) removeRegister(t, txn, k, t.registers.get(txn, new ArrayByteIterable(k)), n, digest);
    removeDocument(t, txn, prefix, n);
    return keys.size();
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
