package dev.syncline.server.hub;

import dev.syncline.server.store.CommittedDelta;
import java.util.List;

/** Deltas of one database that one group commit made durable, in seq order. */
record LiveBatch(String db, List<CommittedDelta> deltas, long lastSeq) {}
