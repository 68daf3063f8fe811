// A store that keeps everything in memory: nothing survives the page or process, but one
// instance may be handed to several clients in turn (a client restarted on the same store
// resumes from it). It has no name, so it does no cross-tab sync.

import { applyPendingOp, pendingOps, registerOps, replaces, row, signInOf, takesCursor, withoutOtherLives } from './batch.js';

const copy = (value) => (value == null ? null : JSON.parse(JSON.stringify(value)));

/** @returns {import('../index.js').Store} */
export function memoryStore() {
  let clientId = null;
  let clock = null;
  let auth = null;
  let owner = null;
  let authGen = 0;
  const cursors = new Map();
  const registers = new Map();
  const pending = new Map();

  return {
    name: null,

    async load() {
      return {
        clientId,
        clock,
        auth: copy(auth),
        owner,
        authGen,
        cursors: Object.fromEntries([...cursors].map(([db, c]) => [db, { ...c }])),
        registers: [...registers.values()].map(row),
        pending: [...pending.values()].map(row),
      };
    },

    async claimClientId(candidate, replace = false) {
      if (clientId === null || replace) clientId = candidate;
      return clientId;
    },

    async write(batch) {
      // written for a user no longer this store's (another tab signed out or in): skipped
      if (batch.ifOwner != null && batch.ifOwner !== owner) return;
      if (batch.clock != null) clock = batch.clock;
      const signedIn = signInOf(batch, owner, authGen);
      if (signedIn) authGen = signedIn.authGen;
      if (batch.wipe || signedIn?.wiped) {
        cursors.clear();
        registers.clear();
        pending.clear();
      }
      if (batch.auth !== undefined) auth = copy(batch.auth);
      if (batch.owner !== undefined) owner = batch.owner;
      for (const db of batch.drop ?? []) {
        for (const [key, r] of registers) if (r.db === db) registers.delete(key);
      }
      const { forgotten, incoming } = registerOps(withoutOtherLives(batch, (db) => cursors.get(db)));
      for (const [key, forgets] of forgotten) if (forgets.has(registers.get(key)?.ts)) registers.delete(key);
      for (const [key, r] of incoming) {
        if (replaces(r, registers.get(key))) registers.set(key, row(r));
      }
      for (const [db, c] of Object.entries(batch.cursors ?? {})) {
        if (takesCursor(cursors.get(db), c)) cursors.set(db, { seq: c.seq, epoch: c.epoch ?? null });
      }
      for (const [key, o] of pendingOps(batch)) {
        const next = applyPendingOp(pending.get(key), o);
        if (next) pending.set(key, row(next));
        else pending.delete(key);
      }
      return signedIn ?? undefined;
    },

    async close() {},
  };
}
