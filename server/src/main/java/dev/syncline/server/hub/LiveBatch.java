package dev.syncline.server.hub;

import dev.syncline.server.store.CommittedDelta;
import java.util.List;

/**
 * Deltas of one database that one group commit made durable, in seq order. {@code ownerChanges}
 * tells whether any of them moved a document to another owner (rare; readers may need to restart).
 */
record LiveBatch(String db, List<CommittedDelta> deltas, long lastSeq, boolean ownerChanges) {

  static LiveBatch of(String db, List<CommittedDelta> deltas) {
    boolean moved = false;
    for (CommittedDelta d : deltas) moved |= d.ownerChanged();
    return new LiveBatch(db, deltas, deltas.get(deltas.size() - 1).delta().seq(), moved);
  }
}
