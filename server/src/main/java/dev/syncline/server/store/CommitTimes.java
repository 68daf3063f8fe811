package dev.syncline.server.store;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.bindings.StringBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Store;
import jetbrains.exodus.env.Transaction;

/**
 * When each database's head was reached, sampled now and then, in the {@code $heads} store: so a
 * tombstone is purged only once it was committed longer ago than the retention, not only stamped
 * so. A removal stamped a month ago (an edit made offline) may be committed now, and a subscriber
 * catching up or behind since before it must still get it.
 *
 * <p>Key: the database name; value: (time ms, head) pairs, oldest first, 16 bytes each. Written
 * and read by the writer thread.
 */
final class CommitTimes {
  private final Store store;
  private final Map<String, TreeMap<Long, Long>> samples = new ConcurrentHashMap<>();

  CommitTimes(Store store) {
    this.store = store;
  }

  void load(Transaction txn) {
    try (Cursor c = store.openCursor(txn)) {
      while (c.getNext()) {
        TreeMap<Long, Long> s = new TreeMap<>();
        ByteBuffer b = ByteBuffer.wrap(c.getValue().getBytesUnsafe(), 0, c.getValue().getLength());
        while (b.remaining() >= 16) s.put(b.getLong(), b.getLong());
        samples.put(StringBinding.entryToString(c.getKey()), s);
      }
    }
  }

  /** The greatest seq of {@code db} known to be committed at or before {@code timeMs}; 0 if none. */
  long headAt(String db, long timeMs) {
    TreeMap<Long, Long> s = samples.get(db);
    Map.Entry<Long, Long> e = s == null ? null : s.floorEntry(timeMs);
    return e == null ? 0 : e.getValue();
  }

  /**
   * Writes that {@code db} had reached {@code head} by {@code nowMs}, unless the last sample is
   * younger than {@code everyMs} or the head has not moved since, and drops what is no longer
   * needed to answer {@link #headAt} for times from {@code keepFromMs} on. Returns the samples to
   * {@link #publish} once the transaction commits, or null if nothing changed.
   */
  TreeMap<Long, Long> note(Transaction txn, String db, long head, long nowMs, long everyMs, long keepFromMs) {
    TreeMap<Long, Long> s = new TreeMap<>(samples.getOrDefault(db, new TreeMap<>()));
    Map.Entry<Long, Long> last = s.lastEntry();
    boolean add = head > 0 && (last == null || (last.getValue() < head && nowMs - last.getKey() >= everyMs));
    Long keepFrom = s.floorKey(keepFromMs);
    boolean prune = keepFrom != null && !keepFrom.equals(s.firstKey());
    if (!add && !prune) return null;
    if (add) s.put(nowMs, head);
    if (prune) s.headMap(keepFrom, false).clear();
    ByteBuffer b = ByteBuffer.allocate(16 * s.size());
    s.forEach((time, seq) -> b.putLong(time).putLong(seq));
    store.put(txn, StringBinding.stringToEntry(db), new ArrayByteIterable(b.array()));
    return s;
  }

  void publish(String db, TreeMap<Long, Long> s) {
    samples.put(db, s);
  }

  /** A database gone (in the transaction that removes it): its next life starts with none. */
  void drop(Transaction txn, String db) {
    store.delete(txn, StringBinding.stringToEntry(db));
  }

  /** After that transaction committed. */
  void dropped(String db) {
    samples.remove(db);
  }
}
