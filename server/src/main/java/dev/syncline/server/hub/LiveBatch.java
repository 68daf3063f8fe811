package dev.syncline.server.hub;

import dev.syncline.server.store.CommittedDelta;
import java.util.ArrayList;
import java.util.List;

/**
 * Deltas of one database that one group commit made durable, in seq order — or several
 * consecutive group commits merged, when an event loop fell behind and found them queued
 * together (see {@link Hub}). {@code ownerChanges} tells whether any of them moved a document to
 * another owner (rare; readers may need to restart).
 */
final class LiveBatch {
  private final String db;
  private final List<CommittedDelta> deltas;
  private final boolean ownerChanges;
  private final int bytes;
  /** The group commits merged here, in commit order; just this batch when it is one commit. */
  private final List<LiveBatch> commits;

  private LiveBatch(String db, List<CommittedDelta> deltas, boolean ownerChanges, int bytes, List<LiveBatch> commits) {
    this.db = db;
    this.deltas = deltas;
    this.ownerChanges = ownerChanges;
    this.bytes = bytes;
    this.commits = commits == null ? List.of(this) : commits;
  }

  /** The deltas of one group commit in one database. */
  static LiveBatch of(String db, List<CommittedDelta> deltas) {
    boolean moved = false;
    int bytes = 0;
    for (CommittedDelta d : deltas) {
      moved |= d.ownerChanged();
      bytes += d.json().length + 1;
    }
    return new LiveBatch(db, deltas, moved, bytes, null);
  }

  /** Consecutive commits of one database as one batch; {@code commits} are single commits, in commit order. */
  static LiveBatch merge(List<LiveBatch> commits) {
    if (commits.size() == 1) return commits.get(0);
    List<CommittedDelta> all = new ArrayList<>();
    boolean moved = false;
    int bytes = 0;
    for (LiveBatch c : commits) {
      all.addAll(c.deltas);
      moved |= c.ownerChanges;
      bytes += c.bytes;
    }
    return new LiveBatch(commits.get(0).db, all, moved, bytes, List.copyOf(commits));
  }

  String db() {
    return db;
  }

  List<CommittedDelta> deltas() {
    return deltas;
  }

  long firstSeq() {
    return deltas.get(0).delta().seq();
  }

  long lastSeq() {
    return deltas.get(deltas.size() - 1).delta().seq();
  }

  boolean ownerChanges() {
    return ownerChanges;
  }

  /** Encoded size of all deltas, with a separator each: the most a frame body of them holds. */
  int bytes() {
    return bytes;
  }

  List<LiveBatch> commits() {
    return commits;
  }

  /**
   * True when a subscriber at {@code cursor} holds some of the merged commits and not others —
   * it went live between them — so it must be given them one by one: a commit is never split,
   * its deltas are either all in a catch-up snapshot or all after it.
   */
  boolean straddles(long cursor) {
    return commits.size() > 1 && firstSeq() <= cursor && cursor < lastSeq();
  }
}
