package dev.syncline.server.store;

/** Running counters of one database while a transaction is open. */
final class Counters {
  long head, documents, attributes, tombstones, purged, ownerChanges;

  Counters(DatabaseInfo i) {
    head = i.head();
    documents = i.documents();
    attributes = i.attributes();
    tombstones = i.tombstones();
    purged = i.purgedThrough();
    ownerChanges = i.ownerChanges();
  }

  /** {@code before} itself when nothing changed, so callers can tell whether to write it. */
  DatabaseInfo toInfo(DatabaseInfo before) {
    if (head == before.head() && documents == before.documents() && attributes == before.attributes()
        && tombstones == before.tombstones() && purged == before.purgedThrough()
        && ownerChanges == before.ownerChanges()) {
      return before;
    }
    return before.withCounts(head, purged, documents, attributes, tombstones, ownerChanges);
  }
}
