// What memory and IndexedDB stores share: folding a write batch into one decision per key, so
// that a batch touching a key twice is applied as if its parts ran in order.

import { decide } from '../merge.js';

const SEP = '\u0000';

export function registerKey(r) {
  return r.db + SEP + r.col + SEP + r.id + SEP + r.attr;
}

/**
 * Whether confirmed register `r` replaces `cur` (undefined or null: none). The merge rule, so a
 * store keeps what the replica keeps: a greater value with an equal timestamp replaces too.
 */
export function replaces(r, cur) {
  return !cur || decide(cur.ts, cur.value, r.ts, r.value) === 'applied';
}

/**
 * Whether a batch's cursor `c` of a database is written over the stored one (`stored`: undefined
 * or null when there is none). A cursor with `after` (the cursor its frame follows, {seq, epoch})
 * is written only where the stored one is of that epoch and has reached `after.seq` (with none
 * stored: only when `after.seq` is 0), and never back within its epoch: the registers up to the
 * stored cursor are all in the store, and a frame holds only those after `after`. (Another tab may
 * have swapped an older copy in, or a write may have failed, in between.) A cursor without `after`
 * (a whole copy of the database) is always written.
 */
export function takesCursor(stored, c) {
  if (!c.after) return true;
  const afterEpoch = c.after.epoch ?? null;
  if (!stored) return c.after.seq === 0;
  const storedEpoch = stored.epoch ?? null;
  if (storedEpoch !== afterEpoch || stored.seq < c.after.seq) return false;
  return !(storedEpoch === (c.epoch ?? null) && stored.seq >= c.seq);
}

/**
 * `batch` less the registers (and forgets) of each database whose cursor in it is of another life
 * than the stored one (`storedCursor(db)`): a tab still on a database's old life whose write lands
 * after another tab took the new life's whole copy. Its cursor is not taken (takesCursor), so its
 * registers would stay under the new life's cursor, and a reload would show them for good.
 */
export function withoutOtherLives(batch, storedCursor) {
  const other = new Set();
  for (const [db, c] of Object.entries(batch.cursors ?? {})) {
    const stored = storedCursor(db);
    if (c.after && stored && (stored.epoch ?? null) !== (c.epoch ?? null)) other.add(db);
  }
  if (other.size === 0) return batch;
  const keep = (rows) => rows?.filter((r) => !other.has(r.db));
  return { ...batch, registers: keep(batch.registers), forget: keep(batch.forget) };
}

/**
 * What a batch that sets `auth` does to the sign-in stored (`storedOwner`, `storedGen`), or null
 * for a batch that does not: {authGen, wiped}. authGen is later than the stored one, so every tab
 * can tell which of two sign-ins the store took last (tabs follow only a newer one): the stored
 * one plus one, or the time in ms if that is greater, so that a store the browser deleted under
 * open tabs (site data cleared), made again from 0, still stamps above what those tabs hold. It
 * wipes as the batch says, and also when the data stored is another user's: a tab that signed in
 * believing the store anonymous, or its own user's, may land after another tab's sign-in as
 * someone else.
 */
export function signInOf(batch, storedOwner, storedGen, now = Date.now()) {
  if (batch.auth === undefined) return null;
  const other = batch.owner !== undefined && storedOwner != null && storedOwner !== batch.owner;
  return { authGen: Math.max((Number.isInteger(storedGen) ? storedGen : 0) + 1, now), wiped: Boolean(batch.wipe || other) };
}

/** The greatest register per key, as merge orders them. */
export function newestByKey(list = []) {
  const out = new Map();
  for (const r of list) {
    const key = registerKey(r);
    if (replaces(r, out.get(key))) out.set(key, r);
  }
  return out;
}

/**
 * A batch's registers to forget, as key -> the timestamps forgotten, and its registers to write
 * (the newest per key) less those it forgets itself. Forgets go first: a value the server purged
 * goes, and an older one of the same attribute it took since (a peer's late write) stays.
 */
export function registerOps(batch) {
  const forgotten = new Map();
  for (const r of batch.forget ?? []) {
    const key = registerKey(r);
    if (!forgotten.has(key)) forgotten.set(key, new Set());
    forgotten.get(key).add(r.ts);
  }
  const incoming = newestByKey((batch.registers ?? []).filter((r) => !forgotten.get(registerKey(r))?.has(r.ts)));
  return { forgotten, incoming };
}

/**
 * Pending changes per key: {put, deleteTs}. Applied to a stored entry `cur`: if cur.ts is in
 * deleteTs it goes; then `put` replaces what is left if it is newer.
 */
export function pendingOps(batch) {
  const ops = new Map();
  const op = (r) => {
    const key = registerKey(r);
    let o = ops.get(key);
    if (!o) ops.set(key, (o = { key: [r.db, r.col, r.id, r.attr], put: null, deleteTs: new Set() }));
    return o;
  };
  for (const d of batch.pendingDelete ?? []) op(d).deleteTs.add(d.ts);
  for (const p of batch.pendingPut ?? []) {
    const o = op(p);
    if (!o.put || p.ts > o.put.ts) o.put = p;
  }
  return ops;
}

/** The pending entry to keep after applying op `o` to the stored entry `cur` (or null). */
export function applyPendingOp(cur, o) {
  let next = cur && o.deleteTs.has(cur.ts) ? null : cur;
  if (o.put && (!next || o.put.ts > next.ts)) next = o.put;
  return next;
}

/** A register or pending entry reduced to the fields a store keeps. */
export function row({ db, col, id, attr, value, ts }) {
  return { db, col, id, attr, value, ts };
}
