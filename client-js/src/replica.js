// The in-memory replica: for every document, its confirmed registers (the server's state, as
// received in `changes` or learned from an ack) and its pending registers (local writes not yet
// acknowledged). What a reader sees is both merged by last writer wins, then filtered by
// visibility. The replica does no I/O and emits nothing: callers apply a batch of changes, then
// call refresh() once to learn which documents now look different.

import { decide } from './merge.js';
import { keptWithPurgedValues, visible } from './visibility.js';
import { jsonEqual, putOwn } from './values.js';

const SEP = '\u0000'; // no db, col, id or attr may contain NUL, so keys can't collide

class DocState {
  constructor(db, col, id) {
    this.db = db;
    this.col = col;
    this.id = id;
    /** @type {Map<string, {value: any, ts: string}>} */
    this.confirmed = new Map();
    /** @type {Map<string, PendingEntry>} */
    this.pending = new Map();
    /** The frozen document a reader sees, or null. */
    this.view = null;
  }

  /** Per attribute, the greater of the confirmed and the pending register, as merge orders them. */
  effective() {
    if (this.pending.size === 0) return this.confirmed;
    const out = new Map(this.confirmed);
    for (const [attr, entry] of this.pending) {
      const c = out.get(attr);
      if (!c || decide(c.ts, c.value, entry.ts, entry.value) === 'applied') out.set(attr, entry);
    }
    return out;
  }
}

/**
 * @typedef {{db: string, col: string, id: string, attr: string, value: any, ts: string, mine: boolean}} PendingEntry
 * `mine` is true for writes made through this client (or loaded from its store), false for
 * writes another tab made and told us about.
 */

export class Replica {
  #docs = new Map(); // db SEP col SEP id -> DocState
  #cols = new Map(); // db SEP col -> Map<id, DocState>
  #sorted = new Map(); // db SEP col -> sorted array of visible docs (a cache)
  #pending = new Map(); // db -> Map<col SEP id SEP attr, PendingEntry>
  #touched = new Set(); // DocStates changed since the last refresh()

  #state(db, col, id, create) {
    const key = db + SEP + col + SEP + id;
    let s = this.#docs.get(key);
    if (!s && create) {
      s = new DocState(db, col, id);
      this.#docs.set(key, s);
      const colKey = db + SEP + col;
      let byId = this.#cols.get(colKey);
      if (!byId) this.#cols.set(colKey, (byId = new Map()));
      byId.set(id, s);
    }
    return s;
  }

  /** Merges a register from the server into the confirmed state; returns the merge outcome. */
  mergeConfirmed(db, { col, id, attr, value, ts }) {
    const s = this.#state(db, col, id, true);
    const stored = s.confirmed.get(attr);
    const outcome = decide(stored?.ts ?? null, stored?.value ?? null, ts, value);
    if (outcome === 'applied') {
      s.confirmed.set(attr, { value, ts });
      this.#touched.add(s);
    }
    return outcome;
  }

  /**
   * Removes the confirmed registers of a destroyed document that its `$deleted` (stamped `ts`)
   * hides, once the server said it keeps none of them (`valuesPurged`). Returns them as rows.
   * What a reader sees does not change: they were hidden.
   */
  forgetHidden(db, col, id, ts) {
    const s = this.#state(db, col, id, false);
    const gone = [];
    if (!s) return gone;
    for (const [attr, r] of s.confirmed) {
      if (!keptWithPurgedValues(attr) && r.ts <= ts) gone.push({ db, col, id, attr, value: r.value, ts: r.ts });
    }
    for (const r of gone) s.confirmed.delete(r.attr);
    if (gone.length) this.#touched.add(s);
    return gone;
  }

  /** Removes a confirmed register if it is still the one stamped `ts` (another tab forgot it). */
  forgetConfirmed(db, { col, id, attr, ts }) {
    const s = this.#state(db, col, id, false);
    if (s?.confirmed.get(attr)?.ts !== ts) return;
    s.confirmed.delete(attr);
    this.#touched.add(s);
  }

  /** Confirmed register of one attribute, or undefined. */
  confirmed(db, col, id, attr) {
    return this.#state(db, col, id, false)?.confirmed.get(attr);
  }

  /** Replaces every confirmed register of `db` (after a reset); pending writes stay. */
  replaceConfirmed(db, registers) {
    for (const s of this.#docs.values()) {
      if (s.db === db && s.confirmed.size > 0) {
        s.confirmed = new Map();
        this.#touched.add(s);
      }
    }
    for (const r of registers) this.mergeConfirmed(db, r);
  }

  /** Removes every confirmed and pending register of every database (sign-out). */
  clear() {
    for (const s of this.#docs.values()) {
      if (s.confirmed.size === 0 && s.pending.size === 0) continue;
      s.confirmed = new Map();
      s.pending = new Map();
      this.#touched.add(s);
    }
    this.#pending.clear();
  }

  /** Adds a local write unless a pending write of that attribute is already as new; true if added. */
  setPending(entry) {
    const s = this.#state(entry.db, entry.col, entry.id, true);
    const current = s.pending.get(entry.attr);
    if (current && current.ts >= entry.ts) return false;
    s.pending.set(entry.attr, entry);
    let byDb = this.#pending.get(entry.db);
    if (!byDb) this.#pending.set(entry.db, (byDb = new Map()));
    const key = entry.col + SEP + entry.id + SEP + entry.attr;
    byDb.delete(key); // keep the queue in the order of the latest writes
    byDb.set(key, entry);
    this.#touched.add(s);
    return true;
  }

  /** The pending write of one attribute, or undefined. */
  pendingEntry(db, col, id, attr) {
    return this.#state(db, col, id, false)?.pending.get(attr);
  }

  /** Removes the pending write of an attribute if it is still the one stamped `ts`; returns it or null. */
  removePending(db, col, id, attr, ts) {
    const s = this.#state(db, col, id, false);
    const entry = s?.pending.get(attr);
    if (!entry || entry.ts !== ts) return null;
    s.pending.delete(attr);
    const byDb = this.#pending.get(db);
    byDb.delete(col + SEP + id + SEP + attr);
    if (byDb.size === 0) this.#pending.delete(db);
    this.#touched.add(s);
    return entry;
  }

  /** Pending writes of one database, oldest first. */
  pendingOf(db) {
    return [...(this.#pending.get(db)?.values() ?? [])];
  }

  /** Databases that have pending writes. */
  pendingDatabases() {
    return [...this.#pending.keys()];
  }

  get pendingCount() {
    let n = 0;
    for (const byDb of this.#pending.values()) n += byDb.size;
    return n;
  }

  /** Every timestamp the replica holds, confirmed and pending. */
  *timestamps() {
    for (const s of this.#docs.values()) {
      for (const r of s.confirmed.values()) yield r.ts;
      for (const e of s.pending.values()) yield e.ts;
    }
  }

  /**
   * Recomputes what readers see for every document changed since the last call. Returns the
   * documents that look different: [{db, col, id, before, after}] (null = not visible).
   */
  refresh() {
    const changes = [];
    for (const s of this.#touched) {
      const attrs = visible(s.effective());
      const before = s.view;
      let after = null;
      if (attrs) {
        after = { id: s.id };
        for (const [k, v] of Object.entries(attrs)) if (k !== 'id') putOwn(after, k, v);
      }
      if (before === null ? after === null : after !== null && jsonEqual(before, after)) continue;
      s.view = after && Object.freeze(after);
      this.#sorted.delete(s.db + SEP + s.col);
      changes.push({ db: s.db, col: s.col, id: s.id, before, after: s.view });
    }
    for (const s of this.#touched) {
      if (s.view === null && s.confirmed.size === 0 && s.pending.size === 0) this.#forget(s);
    }
    this.#touched.clear();
    return changes;
  }

  #forget(s) {
    this.#docs.delete(s.db + SEP + s.col + SEP + s.id);
    const byId = this.#cols.get(s.db + SEP + s.col);
    byId?.delete(s.id);
    if (byId?.size === 0) this.#cols.delete(s.db + SEP + s.col);
  }

  /** The frozen visible document, or null. */
  doc(db, col, id) {
    return this.#state(db, col, id, false)?.view ?? null;
  }

  /** The visible documents of a collection, sorted by id (code unit order). Frozen; do not mutate. */
  docs(db, col) {
    const colKey = db + SEP + col;
    let sorted = this.#sorted.get(colKey);
    if (!sorted) {
      sorted = [];
      for (const s of this.#cols.get(colKey)?.values() ?? []) if (s.view) sorted.push(s.view);
      sorted.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      Object.freeze(sorted);
      this.#sorted.set(colKey, sorted);
    }
    return sorted;
  }

  /** Whether any confirmed register of `db` is held. */
  hasConfirmed(db) {
    for (const s of this.#docs.values()) if (s.db === db && s.confirmed.size > 0) return true;
    return false;
  }

  /** Every confirmed register of every database as [{db, col, id, attr, value, ts}]. */
  allConfirmed() {
    const out = [];
    for (const s of this.#docs.values()) {
      for (const [attr, { value, ts }] of s.confirmed) out.push({ db: s.db, col: s.col, id: s.id, attr, value, ts });
    }
    return out;
  }

  /** Every pending write of every database. */
  allPending() {
    return [...this.#pending.values()].flatMap((byDb) => [...byDb.values()]);
  }

  /** Confirmed registers of a database as [{col, id, attr, value, ts}] (for tests and tools). */
  registersOf(db) {
    const out = [];
    for (const s of this.#docs.values()) {
      if (s.db !== db) continue;
      for (const [attr, { value, ts }] of s.confirmed) out.push({ col: s.col, id: s.id, attr, value, ts });
    }
    return out;
  }
}
