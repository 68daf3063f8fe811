package dev.syncline.server.store;

import java.util.List;

/**
 * One page of stored changes. {@code deltas} are wire-encoded deltas in seq order. {@code seq} is
 * the cursor after this page: every matching change up to it is in this or an earlier page.
 * {@code more} tells whether the snapshot held changes past {@code seq}; {@code head} is the
 * database's seq in that snapshot, and {@code purgedThrough} its purge point.
 */
public record ChangePage(List<byte[]> deltas, long seq, boolean more, long head, long purgedThrough) {}
