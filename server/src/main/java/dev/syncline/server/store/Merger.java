package dev.syncline.server.store;

import static dev.syncline.server.store.Layout.DESTROYS;
import static dev.syncline.server.store.Layout.REMOVED;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Hlc;
import dev.syncline.protocol.Merge;
import dev.syncline.protocol.MessageCodec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import jetbrains.exodus.ArrayByteIterable;
import jetbrains.exodus.ByteIterable;
import jetbrains.exodus.bindings.LongBinding;
import jetbrains.exodus.env.Cursor;
import jetbrains.exodus.env.Transaction;

/**
 * Merges the deltas of one batch into a database, inside the writer's group transaction: last
 * writer wins per register ({@link Merge}), and each winner is stored as its register, its log
 * entry, its digest change and the counts.
 */
final class Merger {
  private final DatabaseTables t;
  private final Transaction txn;
  private final WriteBatch batch;
  private final long[] digest;
  private final String floor;
  /**
   * A client's write stamped before this (ms), to a register not held here or to a document
   * destroyed after it, is superseded: a tombstone of it (or the whole document) may have been
   * purged (0: not a client's push, or no purging). The same on every server, whether it purged
   * or not: one that took the write would pass it to the rest.
   */
  private final long absentFloorMs;
  /** {@link WriteBatch#destroyRetentionMs} as a time (ms), or 0. */
  private final long destroyFloorMs;
  private final Set<String> createdHere = new HashSet<>();
  /** The database's counts as the batch leaves them. */
  final Counters n;
  /** The deltas stored, with their seqs, for the hub. */
  final List<CommittedDelta> out = new ArrayList<>();
  /** The greatest timestamp stored, or null. */
  String maxTs;

  /** {@code floor}: the timestamp the database was last destroyed through, or null. */
  Merger(DatabaseTables t, Transaction txn, WriteBatch batch, DatabaseInfo before, long[] digest, String floor) {
    this.t = t;
    this.txn = txn;
    this.batch = batch;
    this.n = new Counters(before);
    this.digest = digest;
    this.floor = floor;
    // taken here, on the writer, with the purge's own clock: a purge between groups cannot slip under it
    long now = System.currentTimeMillis();
    this.absentFloorMs = batch.retentionMs() > 0 ? now - batch.retentionMs() : 0;
    this.destroyFloorMs = batch.destroyRetentionMs() > 0 ? now - batch.destroyRetentionMs() : 0;
  }

  /**
   * Merges every delta of the batch; null for one refused before the writer. The loop is a
   * method of its own so that, while a big group runs, the JIT compiles it on-stack rather
   * than all of {@code commit} (in {@code writes-100}, {@code commit} was compiled on-stack and
   * then whole, 0.3 and 0.55 s).
   */
  List<Merge.Outcome> applyAll() {
    List<Merge.Outcome> results = new ArrayList<>(batch.deltas().size());
    for (int i = 0; i < batch.deltas().size(); i++) {
      Delta d = batch.deltas().get(i);
      results.add(d == null ? null : apply(d, batch.encoded().get(i)));
    }
    return results;
  }

  /**
   * Merges one delta. Returns null when the batch's guard refuses it. The first write of a
   * document records its entry in {@code reg:D} with the batch's writer as owner, and (for a signed-in
   * writer) writes the {@code $owner} register just before it, stamped with the same ts.
   */
  Merge.Outcome apply(Delta d, EncodedDelta e) {
    byte[] docPrefix = e.documentPrefix();
    ArrayByteIterable docKey = new ArrayByteIterable(docPrefix);
    ByteIterable doc = t.registers.get(txn, docKey);
    String owner = doc == null ? null : Layout.ownerOf(doc);
    // a document's entry goes only with its last register (Removals), so without one it has none
    ByteIterable old = doc == null ? null : t.registers.get(txn, new ArrayByteIterable(e.registerKey));
    long hash = e.hash;
    // written before the database was destroyed: superseded by the destroy, like by a newer value
    Merge.Outcome outcome = floor != null && d.ts().compareTo(floor) <= 0 ? Merge.Outcome.SUPERSEDED : decide(old, d, hash);
    // older than tombstones that may have been purged, to a register not held, or held by a
    // document destroyed after it (which a peer may have purged whole): the removal wins
    if (outcome == Merge.Outcome.APPLIED && Hlc.msOf(d.ts()) < absentFloorMs
        && (old == null || destroyedAfter(docPrefix, d.ts(), Long.MAX_VALUE))) {
      outcome = Merge.Outcome.SUPERSEDED;
    }
    // from a peer too, behind a destroy that old, in a document nobody sees: a server further
    // along may have purged it whole (its purge waits only for its own peers), and would take
    // this as a new one. One that lives again (written since) is purged nowhere: the delta goes
    // in, or the peer that keeps it would differ from here for good.
    if (outcome == Merge.Outcome.APPLIED && doc != null && Hlc.msOf(d.ts()) < destroyFloorMs
        && destroyedAfter(docPrefix, d.ts(), destroyFloorMs) && !visible(docPrefix)) {
      outcome = Merge.Outcome.SUPERSEDED;
    }
    if (outcome == Merge.Outcome.DUPLICATE) {
      // a resend of a write that landed: duplicate, also for a document now hidden (a destroy sent
      // again). Not to one who could neither have written it nor may read it: a client's origin is
      // whatever it says in hello, so that would confirm a guess at a value it may not read
      WriteGuard g = batch.guard();
      if (g == null || (owner != null && owner.equals(batch.writer()))) return outcome;
      WriteGuard.Action action = d.attr().equals(Delta.DELETED) ? WriteGuard.Action.DESTROY : WriteGuard.Action.UPDATE;
      boolean mayKnow = g.permits(d.col(), action, owner) || g.permits(d.col(), WriteGuard.Action.READ, owner)
          || (owner == null && g.permits(d.col(), WriteGuard.Action.CREATE, null)); // made anonymously, as it may
      return mayKnow ? outcome : null;
    }
    if (batch.guard() != null) {
      String docId = d.col() + '\0' + d.id();
      // making a document is a create, whatever the delta writes — $deleted included
      WriteGuard.Action action = doc == null || createdHere.contains(docId) ? WriteGuard.Action.CREATE
          : d.attr().equals(Delta.DELETED) ? WriteGuard.Action.DESTROY : WriteGuard.Action.UPDATE;
      if (!batch.guard().permits(d.col(), action, doc == null ? batch.writer() : owner)) return null;
      if (doc != null && !batch.guard().permitsHidden() && !visible(docPrefix)) return null;
      if (doc == null) createdHere.add(docId);
    }
    if (outcome != Merge.Outcome.APPLIED) return outcome;
    // a peer's destroy that old of a document not held here: a peer committing it again as it purged
    // the values (Removals), or a server further along; it hides nothing here, so it goes a retention
    // from now as one whose values went, and is not committed and sent on again
    // (or held by its $owner alone, which a purged log sends before the $deleted, and which the
    // values' purge keeps anyway)
    boolean nothingToHide = d.attr().equals(Delta.DELETED) && Hlc.msOf(d.ts()) < destroyFloorMs
        && (doc == null || holdsOnlyOwner(docPrefix));

    if (doc == null) {
      owner = batch.writer();
      t.registers.put(txn, docKey, Layout.ownerValue(owner));
      n.documents++;
      if (owner != null && !d.attr().equals(Delta.OWNER)) {
        Delta ownerDelta = new Delta(d.col(), d.id(), Delta.OWNER, TextNode.valueOf(owner), d.ts());
        EncodedDelta ownerEncoded = EncodedDelta.of(ownerDelta);
        write(ownerDelta, ownerEncoded, docPrefix, null, owner, owner, false); // a new document has no $owner yet
      }
    }
    String previousOwner = owner;
    if (d.attr().equals(Delta.OWNER)) {
      String next = d.value().isTextual() ? d.value().textValue() : null;
      if (doc != null && !java.util.Objects.equals(owner, next)) n.ownerChanges++;
      else previousOwner = next; // a first write or the same owner again: no transfer
      owner = next;
      t.registers.put(txn, docKey, Layout.ownerValue(owner));
    }
    write(d, e, docPrefix, old, owner, previousOwner, nothingToHide);
    return outcome;
  }

  /**
   * Whether the document has no register but its {@code $owner} (no earlier {@code $deleted}
   * either: one an older version left, its values purged and never committed again marked, still
   * has to be, for clients that hold them).
   */
  private boolean holdsOnlyOwner(byte[] docPrefix) {
    try (Cursor c = t.registers.openCursor(txn)) {
      for (boolean has = c.getSearchKeyRange(new ArrayByteIterable(docPrefix)) != null; has && Layout.startsWith(c.getKey(), docPrefix);
          has = c.getNext()) {
        if (Layout.isDocumentKey(c.getKey())) continue;
        if (!Layout.partsOf(Layout.copy(c.getKey()))[2].equals(Delta.OWNER)) return false;
      }
    }
    return true;
  }

  /** Whether the document's {@code $deleted = true} is stamped after {@code ts} and before {@code beforeMs}. */
  private boolean destroyedAfter(byte[] docPrefix, String ts, long beforeMs) {
    ByteIterable deleted = t.registers.get(txn, new ArrayByteIterable(Layout.registerKey(docPrefix, Delta.DELETED)));
    if (deleted == null || (Layout.flagsOf(deleted) & DESTROYS) == 0) return false;
    String destroyedAt = Layout.tsOf(deleted);
    return destroyedAt.compareTo(ts) > 0 && Hlc.msOf(destroyedAt) < beforeMs;
  }

  /**
   * Whether readers see the document (PROTOCOL.md §6): it has no {@code $deleted = true}, or a
   * non-null register other than {@code $deleted} stamped after it.
   */
  private boolean visible(byte[] docPrefix) {
    ByteIterable deleted = t.registers.get(txn, new ArrayByteIterable(Layout.registerKey(docPrefix, Delta.DELETED)));
    if (deleted == null || (Layout.flagsOf(deleted) & DESTROYS) == 0) return true;
    String destroyedAt = Layout.tsOf(deleted);
    try (Cursor c = t.registers.openCursor(txn)) {
      for (boolean has = c.getSearchKeyRange(new ArrayByteIterable(docPrefix)) != null; has && Layout.startsWith(c.getKey(), docPrefix);
          has = c.getNext()) {
        if (Layout.isDocumentKey(c.getKey()) || (Layout.flagsOf(c.getValue()) & (DESTROYS | REMOVED)) != 0) continue;
        if (Layout.tsOf(c.getValue()).compareTo(destroyedAt) > 0) return true;
      }
    }
    return false;
  }

  /**
   * LWW by timestamp; an equal timestamp is decided by the values, so every replica picks the
   * same one. The same write seen again (the common case of an equal timestamp: a resend, or a
   * change reaching this server along two links) has the same entry hash, so the stored value
   * is read from the log only for a real tie.
   */
  private Merge.Outcome decide(ByteIterable old, Delta d, long hash) {
    if (old == null) return Merge.Outcome.APPLIED;
    String storedTs = Layout.tsOf(old);
    if (!d.ts().equals(storedTs)) return Merge.decide(storedTs, null, d.ts(), d.value());
    if (Layout.hashOf(old) == hash) return Merge.Outcome.DUPLICATE;
    return Merge.decide(storedTs, storedValue(old), d.ts(), d.value());
  }

  private JsonNode storedValue(ByteIterable reg) {
    ByteIterable entry = t.log.get(txn, LongBinding.longToEntry(Layout.seqOf(reg)));
    try {
      return Json.MAPPER.readTree(Layout.jsonOf(entry)).get("value");
    } catch (java.io.IOException e) {
      throw new IllegalStateException("corrupt log entry in " + batch.db(), e);
    }
  }

  /**
   * Stores a winning delta: its register, its log entry (the register's old one goes to
   * {@link StaleEntries}, deleted before the commit or swept later), the digest and the counts.
   */
  private void write(Delta d, EncodedDelta e, byte[] docPrefix, ByteIterable old, String owner, String previousOwner,
      boolean nothingToHide) {
    long digestChange = e.hash;
    long seq = ++n.head;
    if (old != null) {
      t.stale.superseded(seq, Layout.seqOf(old));
      if ((Layout.flagsOf(old) & REMOVED) != 0) n.tombstones--;
      digestChange ^= Layout.hashOf(old);
    } else {
      n.attributes++;
    }
    if (!t.isLocal(d.col())) digest[Digests.bucketOf(docPrefix)] ^= digestChange;
    byte[] json = MessageCodec.withSeq(e.open, seq);
    byte flags = 0;
    if (d.isRemoval()) {
      flags |= REMOVED;
      n.tombstones++;
    }
    if (d.attr().equals(Delta.DELETED) && d.value().isBoolean() && d.value().booleanValue()) { // as Visibility reads it
      flags |= DESTROYS;
      if (nothingToHide) flags |= Layout.VALUES_PURGED;
    }
    t.registers.put(txn, new ArrayByteIterable(e.registerKey), Layout.registerValue(seq, flags, e.hash, d.ts()));
    // seqs only grow: putRight appends to the B-tree's last page instead of searching for the place
    t.log.putRight(txn, LongBinding.longToEntry(seq), Layout.logValue(e.registerKey, json));
    out.add(new CommittedDelta(d.withSeq(seq), json, owner, previousOwner, batch.source()));
    if (maxTs == null || d.ts().compareTo(maxTs) > 0) maxTs = d.ts();
  }
}
