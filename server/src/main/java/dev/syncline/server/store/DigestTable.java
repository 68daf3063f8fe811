package dev.syncline.server.store;

import java.nio.ByteBuffer;
import java.util.Arrays;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.bindings.StringBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Store;
import jetbrains.exodus.env.Transaction;

/**
 * Each database's digest buckets ({@link Digests}) in the {@code $digests} store, in chunks of
 * {@link #CHUNK} buckets: a commit rewrites only the chunks its writes fell in. Whole 2 KB
 * arrays, rewritten by every commit, were half the bytes a single-delta commit wrote to the log,
 * and so half of what the log cleaner had to go through.
 *
 * <p>Keys: the database name as a Xodus string ({@code name\0}) followed by the chunk's index
 * (one byte); values: the chunk's buckets, 8 bytes each. A chunk of all zeros is not stored.
 * Stores written before chunks hold the whole array under {@code name\0} alone: it is read as
 * such and rewritten as chunks by {@link #read}, which runs at open in a write transaction.
 */
final class DigestTable {
  /** Buckets per stored chunk. */
  static final int CHUNK = 16;
  private static final int CHUNKS = Digests.BUCKETS / CHUNK;
  private static final long[] ZEROS = new long[CHUNK];

  private final Store store;

  DigestTable(Store store) {
    this.store = store;
  }

  /** The buckets of {@code db}; zeros if none are stored. */
  long[] read(Transaction txn, String db) {
    ArrayByteIterable name = prefix(db);
    ByteIterable legacy = store.get(txn, name);
    if (legacy != null) {
      long[] buckets = Digests.fromBytes(legacy.getBytesUnsafe(), legacy.getLength());
      store.delete(txn, name);
      write(txn, db, new long[Digests.BUCKETS], buckets);
      return buckets;
    }
    long[] buckets = new long[Digests.BUCKETS];
    byte[] prefix = Arrays.copyOf(name.getBytesUnsafe(), name.getLength());
    try (Cursor c = store.openCursor(txn)) {
      for (boolean has = c.getSearchKeyRange(name) != null; has; has = c.getNext()) {
        ByteIterable key = c.getKey();
        if (key.getLength() != prefix.length + 1 || !Layout.startsWith(key, prefix)) break;
        int chunk = key.getBytesUnsafe()[prefix.length] & 0xff;
        ByteBuffer value = ByteBuffer.wrap(c.getValue().getBytesUnsafe(), 0, CHUNK * 8);
        for (int i = 0; i < CHUNK; i++) buckets[chunk * CHUNK + i] = value.getLong();
      }
    }
    return buckets;
  }

  /** Stores the chunks in which {@code after} differs from {@code before}. */
  void write(Transaction txn, String db, long[] before, long[] after) {
    for (int chunk = 0; chunk < CHUNKS; chunk++) {
      int from = chunk * CHUNK;
      if (Arrays.equals(before, from, from + CHUNK, after, from, from + CHUNK)) continue;
      if (Arrays.equals(after, from, from + CHUNK, ZEROS, 0, CHUNK)) {
        store.delete(txn, chunkKey(db, chunk));
        continue;
      }
      ByteBuffer value = ByteBuffer.allocate(CHUNK * 8);
      for (int i = from; i < from + CHUNK; i++) value.putLong(after[i]);
      store.put(txn, chunkKey(db, chunk), new ArrayByteIterable(value.array()));
    }
  }

  /** Removes every bucket of {@code db}. */
  void delete(Transaction txn, String db) {
    store.delete(txn, prefix(db));
    for (int chunk = 0; chunk < CHUNKS; chunk++) store.delete(txn, chunkKey(db, chunk));
  }

  private static ArrayByteIterable prefix(String db) {
    return StringBinding.stringToEntry(db);
  }

  private static ArrayByteIterable chunkKey(String db, int chunk) {
    ArrayByteIterable p = prefix(db);
    byte[] key = Arrays.copyOf(p.getBytesUnsafe(), p.getLength() + 1);
    key[p.getLength()] = (byte) chunk;
    return new ArrayByteIterable(key);
  }
}
