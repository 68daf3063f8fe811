package dev.syncline.server.store;

import dev.syncline.protocol.Merge;
import java.util.List;

/**
 * What a committed batch did. {@code outcomes} has one entry per delta of the batch: null where
 * the delta was skipped (null in the batch) or refused by the batch's {@link WriteGuard}; {@code committed} holds the winners with their new seqs, in seq order;
 * {@code head} is the database's seq after the transaction. {@code missing} is true when the
 * database did not exist, in which case nothing was written.
 */
public record BatchOutcome(
    String db,
    boolean missing, List<Merge.Outcome> outcomes, List<CommittedDelta> committed, long head) {}
