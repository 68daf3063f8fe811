package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.client.store.StoredRegister;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Merge;
import dev.syncline.protocol.Register;
import dev.syncline.protocol.Visibility;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The local replica: per document, its confirmed registers (the server's state, from changes or
 * acks) and its pending ones (local writes not yet acknowledged). A reader sees both merged by
 * the protocol's rule ({@link Merge}), then filtered by visibility ({@link Visibility}); no merge
 * logic of its own. No I/O, no events: callers change it, then call {@link #refresh()} once to
 * learn which documents look different.
 *
 * <p>Changed only on the client's event loop. What readers see ({@link #doc}, {@link #docs}) is
 * published in concurrent maps of immutable {@link Doc}s, so any thread may read.
 */
final class Replica {
  /** A local write not yet acknowledged. */
  record Pending(String db, String col, String id, String attr, JsonNode value, String ts) {
    StoredRegister stored() {
      return new StoredRegister(db, col, id, attr, value, ts);
    }
  }

  /** A document that looks different: before and after (null: not visible). */
  record Change(String db, String col, String id, Doc before, Doc after) {}

  private static final class DocState {
    final String db;
    final String col;
    final String id;
    Map<String, Register> confirmed = new LinkedHashMap<>();
    Map<String, Pending> pending = new LinkedHashMap<>();
    Doc view;

    DocState(String db, String col, String id) {
      this.db = db;
      this.col = col;
      this.id = id;
    }

    /** Per attribute, the greater of the confirmed and the pending register, as merge orders them. */
    Map<String, Register> effective() {
      if (pending.isEmpty()) return confirmed;
      Map<String, Register> out = new LinkedHashMap<>(confirmed);
      for (Pending p : pending.values()) {
        Register c = out.get(p.attr());
        if (c == null || Merge.decide(c.ts(), c.value(), p.ts(), p.value()) == Merge.Outcome.APPLIED) {
          out.put(p.attr(), new Register(p.value(), p.ts()));
        }
      }
      return out;
    }
  }

  private final Map<String, DocState> docs = new HashMap<>();
  /** Per database, the pending writes in the order of their latest write. */
  private final Map<String, LinkedHashMap<String, Pending>> pendingByDb = new LinkedHashMap<>();
  private final Set<DocState> touched = new LinkedHashSet<>();
  private final Map<String, ConcurrentSkipListMap<String, Doc>> visible = new ConcurrentHashMap<>();
  private volatile int pendingCount;

  private static String key(String db, String col, String id) {
    return db + '\0' + col + '\0' + id;
  }

  private DocState state(String db, String col, String id, boolean create) {
    String k = key(db, col, id);
    DocState s = docs.get(k);
    if (s == null && create) {
      s = new DocState(db, col, id);
      docs.put(k, s);
    }
    return s;
  }

  /** Merges a register from the server into the confirmed state; returns the outcome. */
  Merge.Outcome mergeConfirmed(String db, String col, String id, String attr, JsonNode value, String ts) {
    DocState s = state(db, col, id, true);
    Register stored = s.confirmed.get(attr);
    Merge.Outcome o = Merge.decide(stored == null ? null : stored.ts(), stored == null ? null : stored.value(), ts, value);
    if (o == Merge.Outcome.APPLIED) {
      s.confirmed.put(attr, new Register(value, ts));
      touched.add(s);
    }
    return o;
  }

  /**
   * Removes the confirmed registers of a destroyed document that its {@code $deleted} (stamped
   * {@code ts}) hides, once the server said it keeps none of them ({@code valuesPurged}). Returns
   * them. What a reader sees does not change: they were hidden.
   */
  List<StoredRegister> forgetHidden(String db, String col, String id, String ts) {
    DocState s = state(db, col, id, false);
    List<StoredRegister> gone = new ArrayList<>();
    if (s == null) return gone;
    s.confirmed.forEach((attr, r) -> {
      if (!Delta.keptWithPurgedValues(attr) && r.ts().compareTo(ts) <= 0) gone.add(new StoredRegister(db, col, id, attr, r.value(), r.ts()));
    });
    for (StoredRegister r : gone) s.confirmed.remove(r.attr());
    if (!gone.isEmpty()) touched.add(s);
    return gone;
  }

  /** Replaces every confirmed register of {@code db} (after a reset); pending writes stay. */
  void replaceConfirmed(String db, List<StoredRegister> registers) {
    for (DocState s : docs.values()) {
      if (s.db.equals(db) && !s.confirmed.isEmpty()) {
        s.confirmed = new LinkedHashMap<>();
        touched.add(s);
      }
    }
    for (StoredRegister r : registers) mergeConfirmed(db, r.col(), r.id(), r.attr(), r.value(), r.ts());
  }

  /** Removes every register, confirmed and pending, of every database (sign-out). */
  void clear() {
    for (DocState s : docs.values()) {
      if (s.confirmed.isEmpty() && s.pending.isEmpty()) continue;
      s.confirmed = new LinkedHashMap<>();
      s.pending = new LinkedHashMap<>();
      touched.add(s);
    }
    pendingByDb.clear();
    pendingCount = 0;
  }

  /** Adds a local write unless a pending write of that attribute is as new already; true if added. */
  boolean setPending(Pending p) {
    DocState s = state(p.db(), p.col(), p.id(), true);
    Pending current = s.pending.get(p.attr());
    if (current != null && current.ts().compareTo(p.ts()) >= 0) return false;
    s.pending.put(p.attr(), p);
    LinkedHashMap<String, Pending> byDb = pendingByDb.computeIfAbsent(p.db(), d -> new LinkedHashMap<>());
    String k = p.col() + '\0' + p.id() + '\0' + p.attr();
    if (byDb.remove(k) == null) pendingCount++; // re-added at the end: the queue follows the latest writes
    byDb.put(k, p);
    touched.add(s);
    return true;
  }

  /** Whether any confirmed register of {@code db} is held. */
  boolean hasConfirmed(String db) {
    for (DocState s : docs.values()) if (s.db.equals(db) && !s.confirmed.isEmpty()) return true;
    return false;
  }

  /** The confirmed register of one attribute, or null. */
  Register confirmed(String db, String col, String id, String attr) {
    DocState s = state(db, col, id, false);
    return s == null ? null : s.confirmed.get(attr);
  }

  /** The greater timestamp of an attribute's confirmed and pending registers, or null when it has neither. */
  String newestTs(String db, String col, String id, String attr) {
    DocState s = state(db, col, id, false);
    if (s == null) return null;
    Register c = s.confirmed.get(attr);
    Pending p = s.pending.get(attr);
    if (c == null) return p == null ? null : p.ts();
    return p == null || c.ts().compareTo(p.ts()) > 0 ? c.ts() : p.ts();
  }

  Pending pendingEntry(String db, String col, String id, String attr) {
    DocState s = state(db, col, id, false);
    return s == null ? null : s.pending.get(attr);
  }

  /** Removes the pending write of an attribute if it is still the one stamped {@code ts}; returns it or null. */
  Pending removePending(String db, String col, String id, String attr, String ts) {
    DocState s = state(db, col, id, false);
    Pending p = s == null ? null : s.pending.get(attr);
    if (p == null || !p.ts().equals(ts)) return null;
    s.pending.remove(attr);
    LinkedHashMap<String, Pending> byDb = pendingByDb.get(db);
    byDb.remove(col + '\0' + id + '\0' + attr);
    if (byDb.isEmpty()) pendingByDb.remove(db);
    pendingCount--;
    touched.add(s);
    return p;
  }

  /** Pending writes of one database, oldest first: a live view, to read on the event loop before changing anything. */
  java.util.Collection<Pending> pendingOf(String db) {
    var byDb = pendingByDb.get(db);
    return byDb == null ? List.of() : java.util.Collections.unmodifiableCollection(byDb.values());
  }

  Set<String> pendingDatabases() {
    return new LinkedHashSet<>(pendingByDb.keySet());
  }

  /** Pending writes over all databases; any thread. */
  int pendingCount() {
    return pendingCount;
  }

  /** Every timestamp held, confirmed and pending. */
  List<String> timestamps() {
    List<String> out = new ArrayList<>();
    for (DocState s : docs.values()) {
      s.confirmed.values().forEach(r -> out.add(r.ts()));
      s.pending.values().forEach(p -> out.add(p.ts()));
    }
    return out;
  }

  /** Recomputes what readers see of every document changed since the last call; returns those that look different. */
  List<Change> refresh() {
    List<Change> changes = new ArrayList<>();
    for (DocState s : touched) {
      Map<String, JsonNode> attrs = Visibility.visible(s.effective());
      Doc before = s.view;
      Doc after = attrs == null ? null : new Doc(s.id, attrs);
      if (before == null ? after == null : after != null && before.jsonAttributes().equals(after.jsonAttributes())) continue;
      s.view = after;
      ConcurrentSkipListMap<String, Doc> col = visible.computeIfAbsent(s.db + '\0' + s.col, k -> new ConcurrentSkipListMap<>());
      if (after == null) col.remove(s.id);
      else col.put(s.id, after);
      changes.add(new Change(s.db, s.col, s.id, before, after));
    }
    for (DocState s : touched) {
      if (s.view == null && s.confirmed.isEmpty() && s.pending.isEmpty()) docs.remove(key(s.db, s.col, s.id));
    }
    touched.clear();
    return changes;
  }

  /** The visible document, or null; any thread. */
  Doc doc(String db, String col, String id) {
    var c = visible.get(db + '\0' + col);
    return c == null ? null : c.get(id);
  }

  /** The visible documents of a collection, sorted by id (code unit order); any thread. */
  List<Doc> docs(String db, String col) {
    var c = visible.get(db + '\0' + col);
    return c == null ? List.of() : List.copyOf(c.values());
  }

  /** Confirmed registers of a database (for tests and tools). */
  List<StoredRegister> registersOf(String db) {
    List<StoredRegister> out = new ArrayList<>();
    for (DocState s : docs.values()) {
      if (!s.db.equals(db)) continue;
      s.confirmed.forEach((attr, r) -> out.add(new StoredRegister(db, s.col, s.id, attr, r.value(), r.ts())));
    }
    return out;
  }
}
