// A live copy of one database's registers, as the server holds them, fed by a subscription. Unlike
// an app's replica it keeps destroyed documents and every register's timestamp, because an admin
// wants to see them (and restore what was destroyed). Merge and visibility are the SDK's, so the
// page shows exactly what clients see.

import { decide, visible } from './sdk/index.js';

/** One document: its registers (attr → {value, ts}), what readers see (null: destroyed), its newest write. */
function describe(id, registers) {
  let newest = '';
  for (const { ts } of registers.values()) if (ts > newest) newest = ts;
  const view = visible(registers);
  return { id, registers, view, destroyed: view === null, newest };
}

export class DatabaseMirror {
  #cols = new Map(); // col -> Map<id, Map<attr, {value, ts}>>
  #incoming = null; // while (re)starting: the full state being collected, swapped in at synced
  #listeners = new Set();

  constructor(db) {
    this.db = db;
    this.synced = false;
    this.error = null;
  }

  /**
   * Calls fn(changed) after every change: changed is a Set of "col\u0000id" keys, or null when
   * everything may have changed (synced, restarted, ended). Returns a function that stops it.
   */
  listen(fn) {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #notify(changed) {
    for (const fn of this.#listeners) fn(changed);
  }

  /** The handlers for AdminConnection.subscribe. */
  get handlers() {
    return {
      start: () => {
        this.#incoming = new Map();
      },
      changes: (deltas) => {
        const changed = this.#merge(this.#incoming ?? this.#cols, deltas);
        if (!this.#incoming) this.#notify(changed);
      },
      synced: () => {
        if (this.#incoming) this.#cols = this.#incoming;
        this.#incoming = null;
        this.synced = true;
        this.#notify(null);
      },
      ended: (error) => {
        this.error = error;
        this.#notify(null);
      },
    };
  }

  #merge(cols, deltas) {
    const changed = new Set();
    for (const { col, id, attr, value, ts } of deltas) {
      let docs = cols.get(col);
      if (!docs) cols.set(col, (docs = new Map()));
      let registers = docs.get(id);
      if (!registers) docs.set(id, (registers = new Map()));
      const stored = registers.get(attr);
      if (decide(stored?.ts ?? null, stored?.value ?? null, ts, value) === 'applied') {
        registers.set(attr, { value, ts });
        changed.add(`${col}\u0000${id}`);
      }
    }
    return changed;
  }

  /** [{name, documents, destroyed}], by name. */
  collections() {
    return [...this.#cols.keys()].sort().map((name) => {
      const docs = this.documents(name);
      return { name, documents: docs.length, destroyed: docs.filter((d) => d.destroyed).length };
    });
  }

  /** The documents of a collection, destroyed ones included, by id. */
  documents(col) {
    const docs = this.#cols.get(col);
    if (!docs) return [];
    return [...docs.keys()].sort().map((id) => describe(id, docs.get(id)));
  }

  /** One document, or null when it has no registers. */
  document(col, id) {
    const registers = this.#cols.get(col)?.get(id);
    return registers ? describe(id, registers) : null;
  }
}
