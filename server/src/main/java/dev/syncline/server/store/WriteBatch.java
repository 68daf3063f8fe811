package dev.syncline.server.store;

import dev.syncline.protocol.Delta;
import java.util.List;

/** Deltas to merge into one database; null entries (refused before storage) are skipped. */
public record WriteBatch(String db, List<Delta> deltas) {}
