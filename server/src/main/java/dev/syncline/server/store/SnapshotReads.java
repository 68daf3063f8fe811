package dev.syncline.server.store;

import static dev.syncline.server.store.Layout.DESTROYS;
import static dev.syncline.server.store.Layout.REMOVED;

import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Json;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;
import java.util.Set;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.bindings.LongBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Environment;
import jetbrains.exodus.env.Store;
import jetbrains.exodus.env.Transaction;

/**
 * The store's reads of a database, each in a read-only snapshot, on any thread: the change log
 * from a seq (catch-up), registers by digest bucket (repairs), and a collection's registers.
 * Reads of the log skip entries superseded and waiting for a sweep ({@link StaleEntries}).
 */
final class SnapshotReads {
  private final Environment env;
  /** {@code $meta}: a page's head is read in the same snapshot as its entries. */
  private final Store meta;

  SnapshotReads(Environment env, Store meta) {
    this.env = env;
    this.meta = meta;
  }

  /** {@link Store#changesSince}, for a database the caller found; null once it is destroyed. */
  ChangePage changesSince(DatabaseTables t, Set<String> cols, ReadFilter filter, long afterSeq, int maxDeltas, int maxBytes) {
    String db = t.info.name();
    byte[][] colPrefixes = cols == null ? null : cols.stream().map(Layout::collectionPrefix).toArray(byte[][]::new);
    return readLog(t, (txn, checkEvery) -> {
      ByteIterable infoBytes = meta.get(txn, Layout.text(db));
      if (infoBytes == null) return null; // destroyed since the caller found its tables
      DatabaseInfo info = Layout.infoOf(infoBytes);
      List<byte[]> out = new ArrayList<>();
      long seq = afterSeq;
      int bytes = 0;
      boolean more = false;
      int scanned = 0;
      try (Cursor c = t.log.openCursor(txn)) {
        boolean has = c.getSearchKeyRange(LongBinding.longToEntry(afterSeq + 1)) != null;
        while (has) {
          if (++scanned > maxScanned(maxDeltas)) {
            more = true; // entries it may not see: the page ends here, possibly empty, and the next one goes on
            break;
          }
          ByteIterable v = c.getValue();
          long at = LongBinding.entryToLong(c.getKey());
          if ((colPrefixes == null || Layout.logMatchesAny(v, colPrefixes)) && isCurrent(t, txn, at, v, checkEvery)
              && (filter == null || allows(t, txn, v, filter))) {
            byte[] json = Layout.jsonOf(v);
            // the page ends before a delta it has no room for, so it stays within maxBytes
            // (a delta larger than that goes alone)
            if (out.size() >= maxDeltas || (!out.isEmpty() && bytes + json.length + 1 > maxBytes)) {
              more = true;
              break;
            }
            out.add(json);
            bytes += json.length + 1;
          }
          seq = at;
          has = c.getNext();
        }
      }
      if (!more) seq = Math.max(seq, info.head());
      return new ChangePage(out, seq, more, info.head(), info.purgedThrough());
    });
  }

  /**
   * Log entries one page looks at: a reader who may see few of them (a collection that is not
   * there, an owner's documents in a large database) would otherwise scan the whole log in one
   * read, holding a catch-up thread and a snapshot, as often as it subscribes.
   */
  static int maxScanned(int maxDeltas) {
    return (int) Math.min(Integer.MAX_VALUE, Math.max(MIN_SCANNED, maxDeltas * 8L));
  }

  static final int MIN_SCANNED = 4096;

  /**
   * Runs a read of {@code t}'s log in a snapshot; when a sweep committed meanwhile, once more
   * with {@code checkEvery}, since the sweep may have unlisted stale entries the snapshot still
   * holds ({@link StaleEntries}).
   */
  private <T> T readLog(DatabaseTables t, java.util.function.BiFunction<Transaction, Boolean, T> read) {
    long sweeps = t.stale.sweeps();
    T result = env.computeInReadonlyTransaction(txn -> read.apply(txn, false));
    if (t.stale.sweeps() == sweeps) return result;
    return env.computeInReadonlyTransaction(txn -> read.apply(txn, true));
  }

  /** Whether log entry {@code seq} is its register's newest, not one superseded and waiting for a sweep. */
  private static boolean isCurrent(DatabaseTables t, Transaction txn, long seq, ByteIterable log, boolean checkEvery) {
    if (!checkEvery && !t.stale.mayBeStale(seq)) return true;
    ByteIterable reg = t.registers.get(txn, new ArrayByteIterable(Layout.regKeyOf(log)));
    return reg != null && Layout.seqOf(reg) == seq;
  }

  private static boolean allows(DatabaseTables t, Transaction txn, ByteIterable log, ReadFilter filter) {
    String[] parts = Layout.partsOf(Layout.regKeyOf(log));
    String owner = null;
    if (filter.needsOwner(parts[0])) {
      ByteIterable doc = t.registers.get(txn, new ArrayByteIterable(Layout.documentPrefix(parts[0], parts[1])));
      owner = doc == null ? null : Layout.ownerOf(doc);
    }
    return filter.allows(parts[0], parts[2], owner);
  }

  /** {@link Store#registersInBuckets}. */
  RegisterPage registersInBuckets(DatabaseTables t, BitSet buckets, byte[] afterKey, int maxDeltas, int maxBytes,
      long purgeableBeforeMs) {
    return env.computeInReadonlyTransaction(txn -> {
      List<byte[]> out = new ArrayList<>();
      int bytes = 0;
      byte[] last = afterKey;
      byte[] docStart = afterKey; // where a page that ends before the current document resumes
      byte[] docPrefix = null;
      boolean inBucket = false;
      List<StoredRegister> doc = new ArrayList<>(); // the current document's registers, when in the buckets
      int docBytes = 0;
      boolean part = false; // the current document is the rest of one the last page split
      try (Cursor c = t.registers.openCursor(txn)) {
        boolean has = afterKey == null ? c.getNext() : c.getSearchKeyRange(new ArrayByteIterable(afterKey)) != null;
        if (has && afterKey != null && Layout.startsWith(c.getKey(), afterKey) && c.getKey().getLength() == afterKey.length) {
          has = c.getNext(); // after, not at
        }
        for (; has; has = c.getNext()) {
          if (Layout.isDocumentKey(c.getKey())) continue;
          byte[] key = Layout.copy(c.getKey());
          if (docPrefix == null || !Layout.startsWith(c.getKey(), docPrefix)) {
            bytes += emit(doc, purgeableBeforeMs, out, part);
            doc.clear();
            docBytes = 0;
            // a page ends between documents, so a repair never lands half a document
            if (out.size() >= maxDeltas || bytes >= maxBytes) return new RegisterPage(out, last, true);
            docStart = last;
            byte[] prefix = Layout.documentPrefixOf(key);
            // (afterKey is the peer's: any bytes; the stored key's prefix is what is compared)
            part = docPrefix == null && afterKey != null && afterKey.length >= prefix.length
                && Arrays.equals(afterKey, 0, prefix.length, prefix, 0, prefix.length);
            docPrefix = prefix;
            inBucket = buckets.get(Digests.bucketOf(docPrefix)) && !t.isLocal(Layout.partsOf(key)[0]);
          }
          if (inBucket) {
            ByteIterable reg = c.getValue();
            byte[] json = Layout.jsonOf(t.log.get(txn, LongBinding.longToEntry(Layout.seqOf(reg))));
            if (bytes + docBytes + json.length + 1 > maxBytes) {
              // no room for this document: the next page starts with it
              if (bytes > 0) return new RegisterPage(out, docStart, true);
              // one document larger than a page: split after all (a register larger than a page goes alone)
              if (!doc.isEmpty()) {
                emit(doc, purgeableBeforeMs, out, true);
                return new RegisterPage(out, last, true);
              }
            }
            doc.add(new StoredRegister(Layout.flagsOf(reg), Layout.tsOf(reg), json));
            docBytes += json.length + 1;
          }
          last = key;
        }
      }
      emit(doc, purgeableBeforeMs, out, part);
      return new RegisterPage(out, last, false);
    });
  }

  private record StoredRegister(byte flags, String ts, byte[] json) {}

  /**
   * Adds a document's registers to a repair page, leaving out what a purge at
   * {@code purgeableBeforeMs} removes (old tombstones; a document destroyed that long ago with
   * nothing written since): sending those would only bring back what a peer purged already.
   * Whether a destroyed document is purgeable depends on all its registers, so {@code part} (a
   * document split over pages) is sent whole, its {@code $deleted} with it: a peer that purged it
   * only destroys it again.
   */
  private static int emit(List<StoredRegister> doc, long purgeableBeforeMs, List<byte[]> out, boolean part) {
    String destroyedAt = null;
    for (StoredRegister r : doc) {
      if ((r.flags() & DESTROYS) != 0 && Hlc.msOf(r.ts()) < purgeableBeforeMs) destroyedAt = r.ts();
    }
    if (destroyedAt != null && !part) {
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

  /** {@link Store#registers}. */
  List<Delta> registers(DatabaseTables t, String col) {
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
            throw new IllegalStateException("corrupt log entry in " + t.info.name(), e);
          }
        }
      }
      return out;
    });
  }
}
