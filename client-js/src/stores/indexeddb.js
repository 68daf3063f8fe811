// A store in IndexedDB, so a reload or a crashed tab loses nothing. Every write batch is one
// readwrite transaction: the registers of a `changes` frame and its cursor land together or not
// at all. Two tabs may share one store; writes merge by timestamp inside the transaction, so the
// order in which the tabs write does not matter.
//
// Layout of the database `syncline:<name>` (version 1):
//   meta       out-of-line keys 'clientId', 'clock', 'auth' (the token record), 'owner' (whose
//              data the other stores hold: a user id, absent for anonymous), 'authGen' (rises with
//              each write of auth, see signInOf: orders sign-ins for the tabs)
//   cursors    keyPath 'db'                      {db, seq, epoch}
//   registers  keyPath ['db','col','id','attr']  {db, col, id, attr, value, ts}   (confirmed)
//   pending    keyPath ['db','col','id','attr']  {db, col, id, attr, value, ts}   (not yet acked)

import { applyPendingOp, pendingOps, registerKey, registerOps, replaces, row, signInOf, takesCursor, withoutOtherLives } from './batch.js';

const VERSION = 1;
const STORES = ['meta', 'cursors', 'registers', 'pending'];

function promised(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

// Resolves when the transaction commits. Must reject if any request in it fails (it aborts).
function committed(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

/**
 * @param {string} name names the IndexedDB database (`syncline:<name>`) and the BroadcastChannel
 *   that keeps tabs on the same store in step
 * @param {{indexedDB?: IDBFactory, IDBKeyRange?: typeof IDBKeyRange}} [options] an IDBFactory to
 *   use instead of globalThis.indexedDB (for example fake-indexeddb in Node), and its IDBKeyRange
 * @returns {import('../index.js').Store}
 */
export function indexedDbStore(name, options = {}) {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('indexedDbStore: name must be a non-empty string');
  const dbName = `syncline:${name}`;
  let opening = null;

  function open() {
    if (!opening) {
      const factory = options.indexedDB ?? globalThis.indexedDB;
      if (!factory) return Promise.reject(new Error('indexedDbStore: no IndexedDB here; pass {indexedDB}'));
      const request = factory.open(dbName, VERSION);
      request.onupgradeneeded = () => {
        const idb = request.result;
        if (!idb.objectStoreNames.contains('meta')) idb.createObjectStore('meta');
        if (!idb.objectStoreNames.contains('cursors')) idb.createObjectStore('cursors', { keyPath: 'db' });
        for (const s of ['registers', 'pending']) {
          if (!idb.objectStoreNames.contains(s)) idb.createObjectStore(s, { keyPath: ['db', 'col', 'id', 'attr'] });
        }
      };
      const current = promised(request).then((idb) => {
        // Another tab upgrading the schema: step aside so it can; the next call opens again.
        idb.onversionchange = () => { idb.close(); if (opening === current) opening = null; };
        idb.onclose = () => { if (opening === current) opening = null; };
        return idb;
      });
      current.catch(() => { if (opening === current) opening = null; });
      opening = current;
    }
    return opening;
  }

  // Removes every register [db, …]: they lie between [db] and [db, []], since arrays order after
  // strings. The key range must come from the same implementation as the factory; without one,
  // read the keys first. Calls then() once the deletes are requested, so later reads see them.
  function dropDatabases(registers, dbs, then) {
    if (dbs.length === 0) return then();
    const KeyRange = options.IDBKeyRange ?? (options.indexedDB ? null : globalThis.IDBKeyRange);
    if (KeyRange) {
      for (const db of dbs) registers.delete(KeyRange.bound([db], [db, []]));
      return then();
    }
    const keys = registers.getAllKeys();
    keys.onsuccess = () => {
      for (const key of keys.result) if (dbs.includes(key[0])) registers.delete(key);
      then();
    };
  }

  // Requests run in the order they are made, so each read below sees the writes made before it.
  // The stored cursors a frame's cursor is checked against are read first (see withoutOtherLives).
  function merge(tx, batch) {
    const cursors = tx.objectStore('cursors');
    const followed = Object.entries(batch.cursors ?? {}).filter(([, c]) => c.after).map(([db]) => db);
    if (followed.length === 0) return mergeWith(tx, batch, new Map());
    const stored = new Map();
    let left = followed.length;
    for (const db of followed) {
      const get = cursors.get(db);
      get.onsuccess = () => {
        stored.set(db, get.result);
        if (--left === 0) mergeWith(tx, batch, stored);
      };
    }
  }

  // `stored`: the stored cursors of the databases whose cursor in the batch follows another.
  function mergeWith(tx, batch, stored) {
    const registers = tx.objectStore('registers');
    const cursors = tx.objectStore('cursors');
    const pending = tx.objectStore('pending');
    // one read per key, forgets first: the forgotten register counts as absent for the merge
    const { forgotten, incoming } = registerOps(withoutOtherLives(batch, (db) => stored.get(db)));
    const keys = new Map();
    for (const r of [...(batch.forget ?? []), ...incoming.values()]) keys.set(registerKey(r), [r.db, r.col, r.id, r.attr]);
    for (const [k, key] of keys) {
      const get = registers.get(key);
      get.onsuccess = () => {
        const stored = forgotten.get(k)?.has(get.result?.ts) ? undefined : get.result;
        const r = incoming.get(k);
        if (r && replaces(r, stored)) registers.put(row(r));
        else if (stored !== get.result) registers.delete(key);
      };
    }
    for (const [db, c] of Object.entries(batch.cursors ?? {})) {
      const put = () => cursors.put({ db, seq: c.seq, epoch: c.epoch ?? null });
      if (!c.after || takesCursor(stored.get(db), c)) put();
    }
    for (const o of pendingOps(batch).values()) {
      const get = pending.get(o.key);
      get.onsuccess = () => {
        const cur = get.result ?? null;
        const next = applyPendingOp(cur, o);
        if (next === cur) return;
        if (next) pending.put(row(next));
        else pending.delete(o.key);
      };
    }
  }

  return {
    name,

    async load() {
      const idb = await open();
      const tx = idb.transaction(STORES, 'readonly');
      const [clientId, clock, auth, owner, authGen, cursors, registers, pending] = await Promise.all([
        promised(tx.objectStore('meta').get('clientId')),
        promised(tx.objectStore('meta').get('clock')),
        promised(tx.objectStore('meta').get('auth')),
        promised(tx.objectStore('meta').get('owner')),
        promised(tx.objectStore('meta').get('authGen')),
        promised(tx.objectStore('cursors').getAll()),
        promised(tx.objectStore('registers').getAll()),
        promised(tx.objectStore('pending').getAll()),
        committed(tx),
      ]);
      return {
        clientId: clientId ?? null,
        clock: clock ?? null,
        auth: auth ?? null,
        owner: owner ?? null,
        authGen: authGen ?? 0,
        cursors: Object.fromEntries(cursors.map((c) => [c.db, { seq: c.seq, epoch: c.epoch ?? null }])),
        registers,
        pending,
      };
    },

    async claimClientId(candidate, replace = false) {
      const idb = await open();
      const tx = idb.transaction(['meta'], 'readwrite');
      const meta = tx.objectStore('meta');
      let result = candidate;
      const get = meta.get('clientId');
      get.onsuccess = () => {
        if (get.result != null && !replace) result = get.result;
        else meta.put(candidate, 'clientId');
      };
      await committed(tx);
      return result;
    },

    async write(batch) {
      const idb = await open();
      const tx = idb.transaction(STORES, 'readwrite');
      const done = committed(tx);
      const meta = tx.objectStore('meta');
      let signedIn = null;
      // `owner` and `authGen`: as stored when this transaction began (readwrite ones run one at a time)
      const apply = (owner, authGen) => {
        if (batch.clock != null) meta.put(batch.clock, 'clock');
        signedIn = signInOf(batch, owner, authGen);
        if (signedIn) meta.put(signedIn.authGen, 'authGen');
        for (const key of ['auth', 'owner']) {
          if (batch[key] === null) meta.delete(key);
          else if (batch[key] !== undefined) meta.put(batch[key], key);
        }
        if (batch.wipe || signedIn?.wiped) for (const s of ['cursors', 'registers', 'pending']) tx.objectStore(s).clear();
        dropDatabases(tx.objectStore('registers'), batch.drop ?? [], () => merge(tx, batch));
      };
      const owner = meta.get('owner');
      const authGen = meta.get('authGen');
      authGen.onsuccess = () => {
        // written for a user no longer this store's (another tab signed out or in): skipped
        if (batch.ifOwner != null && (owner.result ?? null) !== batch.ifOwner) return;
        apply(owner.result ?? null, authGen.result);
      };
      await done;
      return signedIn ?? undefined;
    },

    async close() {
      const p = opening;
      opening = null;
      if (p) (await p.catch(() => null))?.close();
    },
  };
}
