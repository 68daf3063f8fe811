// Live queries: a filter over one collection and a callback that gets the result at once and
// again whenever the result changes.

import { report } from './emitter.js';
import { jsonEqual } from './values.js';

const SEP = '\u0000';
/** Calls of a live query's callback in a row that may each write and so call it again. */
const MAX_RERUNS = 100;

/**
 * A predicate from a filter: null (every document), a function (doc) => boolean, or an object
 * whose every key must equal the document's attribute of that name (JSON equality).
 */
export function matcher(filter) {
  if (filter == null) return () => true;
  if (typeof filter === 'function') return filter;
  if (typeof filter === 'object' && !Array.isArray(filter)) {
    const wanted = Object.entries(filter);
    return (doc) => wanted.every(([k, v]) => Object.hasOwn(doc, k) && jsonEqual(doc[k], v));
  }
  throw new TypeError('filter: null, an object of attribute values, or a function (doc) => boolean');
}

function sameDocs(a, b) {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class LiveQueries {
  #replica;
  #loaded;
  #byCol = new Map(); // db SEP col -> Set<query>

  /** `loaded()`: whether the store has loaded; before that a result would be empty for nothing. */
  constructor(replica, loaded = () => true) {
    this.#replica = replica;
    this.#loaded = loaded;
  }

  /**
   * Registers a query and calls `fn` at once with its result (once the store has loaded, when
   * made before: see notifyAll); returns a function that stops it.
   */
  add(db, col, filter, fn) {
    if (typeof fn !== 'function') throw new TypeError('live: callback must be a function');
    const key = db + SEP + col;
    const query = { db, col, match: matcher(filter), fn, last: null, stopped: false };
    let set = this.#byCol.get(key);
    if (!set) this.#byCol.set(key, (set = new Set()));
    set.add(query);
    if (this.#loaded()) this.#run(query);
    return () => {
      query.stopped = true;
      set.delete(query);
      if (set.size === 0 && this.#byCol.get(key) === set) this.#byCol.delete(key);
    };
  }

  /** Runs the queries of every collection named in `changes` ([{db, col}]). */
  notify(changes) {
    const keys = new Set(changes.map((c) => c.db + SEP + c.col));
    for (const key of keys) for (const q of [...(this.#byCol.get(key) ?? [])]) this.#run(q);
  }

  /** Runs every query (after the store has loaded). */
  notifyAll() {
    for (const set of [...this.#byCol.values()]) for (const q of [...set]) this.#run(q);
  }

  #run(q) {
    if (q.stopped) return;
    if (q.running) {
      // its callback wrote: it runs again once that call returns, so the last call has the last result
      q.dirty = true;
      return;
    }
    q.running = true;
    let runs = 0;
    try {
      do {
        if (++runs > MAX_RERUNS) {
          // a callback that changes what it reads every time it is called would never end
          report(new Error(`live query on ${q.col}: its callback wrote at each of ${MAX_RERUNS} calls in a row; it runs again at the next change`));
          return;
        }
        q.dirty = false;
        let result;
        try {
          result = this.#replica.docs(q.db, q.col).filter((doc) => q.match(doc));
        } catch (e) {
          report(e); // the app's filter threw: reported, not thrown into the client's own work
          return;
        }
        if (sameDocs(q.last, result)) continue; // documents are frozen: same objects, same content
        q.last = result;
        try {
          q.fn(result.slice());
        } catch (e) {
          report(e);
        }
      } while (q.dirty && !q.stopped);
    } finally {
      q.running = false;
    }
  }
}
