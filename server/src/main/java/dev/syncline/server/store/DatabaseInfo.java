package dev.syncline.server.store;

/**
 * A database's metadata, as of the last commit.
 *
 * @param name database name
 * @param epoch names this life of the database; a database destroyed and created again gets a new one
 * @param head seq of the last committed change (0 when empty)
 * @param createdAt creation time, epoch ms
 * @param purgedThrough tombstones with seq up to here may have been purged; older cursors need a resync
 * @param documents documents with at least one stored register (destroyed ones included)
 * @param attributes stored registers, tombstones included (also the log's current entries)
 * @param tombstones registers whose value is null
 * @param ownerChanges how many times a document's {@code $owner} was replaced by another (not first
 *     writes); what owner-only readers may see changes with it
 */
public record DatabaseInfo(
    String name, String epoch, long head, long createdAt, long purgedThrough, long documents, long attributes,
    long tombstones, long ownerChanges) {

  DatabaseInfo withCounts(long newHead, long newPurged, long docs, long attrs, long tombs, long owners) {
    return new DatabaseInfo(name, epoch, newHead, createdAt, newPurged, docs, attrs, tombs, owners);
  }
}
