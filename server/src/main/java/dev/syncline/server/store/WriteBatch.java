package dev.syncline.server.store;

import dev.syncline.protocol.Delta;
import java.util.ArrayList;
import java.util.List;

/**
 * Deltas to merge into one database; null entries (refused before storage) are skipped.
 * {@code encoded} holds each delta's bytes ({@link EncodedDelta}: its wire encoding without the
 * seq, entry hash and register key), made by {@link #of} on the thread that builds the batch — an
 * event loop — so the single writer only appends the seq.
 *
 * <p>{@code writer} becomes the {@code $owner} of every document this batch creates (null: an
 * anonymous writer, no owner is written). {@code guard} checks each delta in the transaction;
 * null permits everything.
 *
 * <p>A batch replicated from a peer names that peer ({@code source}), so its winners are not
 * sent straight back to it, and carries the peer's feed {@code cursor}, stored in the same
 * transaction — only if the stored cursor has reached {@code cursorAfter}, the frame before it:
 * when that one's commit failed, the feed must resume before it, not after this one — and not
 * if the stored cursor is past it already (a stored cursor never goes back). Both are null for a
 * client's push.
 *
 * <p>{@code retentionMs} (0: none), for a client's push: a delta stamped more than this before
 * the commit, to a register this server does not hold, is superseded. A tombstone of it may have been purged, and the write it removed must
 * not come back (an edit sent again after a month offline). A peer's feed is safe without it
 * (tombstones are purged only once every peer holds them).
 *
 * <p>{@code destroyRetentionMs} (0: none), for every batch: a delta stamped more than this before
 * the commit, to a document whose {@code $deleted = true} is newer than it but also that old, is
 * superseded. A server further along (not a direct peer) may have purged that document whole,
 * and would take the delta as a new document if it were passed on.
 */
public record WriteBatch(String db, List<Delta> deltas, List<EncodedDelta> encoded, String writer, WriteGuard guard,
    String source, PeerCursor cursor, long cursorAfter, long retentionMs, long destroyRetentionMs) {

  public static WriteBatch of(String db, List<Delta> deltas) {
    return of(db, deltas, null, null);
  }

  public static WriteBatch of(String db, List<Delta> deltas, String writer, WriteGuard guard) {
    return of(db, deltas, writer, guard, 0);
  }

  /** A client's push: see {@code retentionMs} above. */
  public static WriteBatch of(String db, List<Delta> deltas, String writer, WriteGuard guard, long retentionMs) {
    return new WriteBatch(db, deltas, encode(deltas), writer, guard, null, null, 0, retentionMs, retentionMs);
  }

  /** Deltas from a peer's feed (or a repair, with no cursor): merged as they are, origins and owners kept. */
  public static WriteBatch replicated(String db, List<Delta> deltas, String source, PeerCursor cursor) {
    return fromFeed(db, deltas, source, cursor, 0);
  }

  /** A frame of a peer's feed: its cursor is stored only if the one stored has reached {@code after}. */
  public static WriteBatch fromFeed(String db, List<Delta> deltas, String source, PeerCursor cursor, long after) {
    return new WriteBatch(db, deltas, encode(deltas), null, null, source, cursor, after, 0, 0);
  }

  /** This batch with {@code destroyRetentionMs} (see above). */
  public WriteBatch withDestroyRetention(long ms) {
    return new WriteBatch(db, deltas, encoded, writer, guard, source, cursor, cursorAfter, retentionMs, ms);
  }

  /** What the batch's encoded deltas hold on the heap, about: their wire bytes and register keys. */
  public long encodedBytes() {
    long bytes = 0;
    for (EncodedDelta e : encoded) if (e != null) bytes += e.open.length + e.registerKey.length;
    return bytes;
  }

  private static List<EncodedDelta> encode(List<Delta> deltas) {
    List<EncodedDelta> encoded = new ArrayList<>(deltas.size());
    for (Delta d : deltas) encoded.add(d == null ? null : EncodedDelta.of(d));
    return encoded;
  }
}
