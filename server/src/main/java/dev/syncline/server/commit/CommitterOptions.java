package dev.syncline.server.commit;

/**
 * Settings of the writer.
 *
 * @param maxQueuedDeltas deltas that may wait for the writer before pushes fail with {@code overloaded}
 * @param maxGroupDeltas most deltas merged into one transaction (one fsync)
 * @param tombstoneRetentionMs how long tombstones are kept before purging; 0 keeps them forever
 * @param purgeIntervalMs how often an idle writer looks for tombstones to purge
 * @param purgeBatchEntries most log entries one purge pass visits per database
 * @param maxQueuedBytes bytes of encoded deltas that may wait for the writer, likewise
 */
public record CommitterOptions(
    int maxQueuedDeltas, int maxGroupDeltas, long tombstoneRetentionMs, long purgeIntervalMs, int purgeBatchEntries,
    long maxQueuedBytes) {}
