// The client's local state and everything that changes it: the replica, the clock, the cursors,
// the store, and the events that report changes. Local edits, frames from the server (through
// the session) and messages from other tabs all come through here, so each kind of change is
// applied, persisted, broadcast and reported in one place. That includes who the client is: the
// token record, and whose data the replica holds (see signIn, signOut).
//
// How a change flows: update the replica (pure, in memory) → replica.refresh() says which
// documents now look different → events and live queries fire at once → the store write is
// queued (writes run one after another, in order) → other tabs are told.

import { readTokenRecord, sameUser } from './auth.js';
import { Clock, isOrigin } from './hlc.js';
import { errorEvent, SynclineError } from './errors.js';
import { LiveQueries } from './live.js';
import { decide } from './merge.js';
import { attrProblem, DEFAULT_LIMITS } from './names.js';
import { Replica } from './replica.js';
import { registerOps } from './stores/batch.js';
import { randomId } from './ulid.js';
import { encodedValueBytes, jsonEqual, toStoredValue } from './values.js';

/**
 * Per-delta error codes after which the delta is dropped. Any other code (internal, overloaded,
 * rate_limited, quorum_timeout, or one this SDK does not know, which counts as internal) keeps it
 * for a retry.
 */
const FINAL = new Set(['bad_request', 'forbidden', 'too_large', 'not_found', 'unauthenticated', 'unsupported_protocol']);

const register = (db, d) => ({ db, col: d.col, id: d.id, attr: d.attr, value: d.value, ts: d.ts });

/**
 * `batch` with what failed write `unstored` (or null) would have done first: its wipe, drops,
 * registers, registers to forget, cursors and sign-in (token record and owner), less what `batch`
 * wipes or drops again, registers either forgets, and what `batch` signs in itself. One register
 * per attribute, the newest, so a store that keeps failing does not make each write larger than
 * the last. (Its pending changes are not carried: a pending entry the store missed is pushed
 * again, and answered duplicate.)
 */
function withUnstored(unstored, batch) {
  if (!unstored) return batch;
  const signIn = {};
  if (unstored.auth !== undefined && batch.auth === undefined) signIn.auth = unstored.auth;
  if (unstored.owner !== undefined && batch.owner === undefined) signIn.owner = unstored.owner;
  const dropped = new Set(batch.drop ?? []);
  const cursors = chainedCursors(unstored.cursors, batch.cursors, dropped, batch.wipe);
  if (!(unstored.wipe || unstored.drop?.length || unstored.registers?.length || unstored.forget?.length
    || Object.keys(signIn).length)) return cursors ? { ...batch, cursors } : batch;
  const carried = (rows) => (batch.wipe ? [] : (rows ?? []).filter((r) => !dropped.has(r.db)));
  // a value the server purged stays forgotten, and is not written back from what was carried
  // (an older value of its attribute, taken since, is what stays: see registerOps)
  const { forgotten, incoming } = registerOps({
    forget: [...carried(unstored.forget), ...(batch.forget ?? [])],
    registers: [...carried(unstored.registers), ...(batch.registers ?? [])],
  });
  const forget = [];
  for (const [key, stamps] of forgotten) {
    const [db, col, id, attr] = key.split('\u0000');
    for (const ts of stamps) forget.push({ db, col, id, attr, value: null, ts });
  }
  return {
    ...batch,
    ...signIn,
    ...(cursors ? { cursors } : {}),
    wipe: Boolean(unstored.wipe || batch.wipe),
    drop: [...new Set([...(unstored.drop ?? []), ...dropped])],
    registers: [...incoming.values()],
    forget,
  };
}

/**
 * The cursors of `batch` (`cursors`) carrying failed write's (`failed`), or undefined when neither
 * has any: a cursor of the batch follows the failed one, whose registers go along, so it follows
 * what the failed one followed (a whole copy's: it is a whole copy too). A database the batch
 * drops (swaps) keeps the batch's, and one it wipes keeps none of the failed one's (its registers
 * are not carried either).
 */
function chainedCursors(failed, cursors, dropped, wipe) {
  if (!failed && !cursors) return undefined;
  const out = { ...cursors };
  for (const [db, f] of Object.entries(failed ?? {})) {
    if (wipe || dropped.has(db)) continue;
    const c = out[db];
    if (!c) out[db] = f;
    else if (c.after) out[db] = f.after ? { ...c, after: f.after } : { seq: c.seq, epoch: c.epoch };
  }
  return out;
}

/**
 * Whether data of `from` (a user id, or null: anonymous) belongs with a client or store whose
 * data is `owner`'s. Anonymous data goes with whoever signs in (without dropping it); a user's
 * data never goes to another user, nor to a client that signed out.
 */
const belongsWith = (from, owner) => from === null || from === undefined || from === owner;
const delta = (d) => ({ col: d.col, id: d.id, attr: d.attr, value: d.value, ts: d.ts });

export class ClientCore {
  /** Set by the client: called when a database has a new pending write to push. */
  onPending = () => {};
  /** Set by the client: {post(message)} or null. */
  tabs = null;
  /** Set by the client: another tab signed in or out; `changed` when the user id changed or data was dropped. */
  onAuth = () => {};
  /** Set by the client: another tab's ack recorded these deltas of db as stored by the server. */
  onStored = () => {};

  #writes = Promise.resolve();
  /** Tab messages held behind a sign-in or out not stored yet, in order ({message, ready}). */
  #held = [];
  /** The last failed store write, if the one after it has not landed yet (see persist). */
  #unstored = null;
  /** Whose data #unstored holds (a user id, or null: anonymous). */
  #unstoredOwner = null;
  /** This tab's sign-ins and outs whose store write has not been told yet (see #storeAuth). */
  #authWrites = 0;
  /** Other tabs' sign-ins and outs heard meanwhile, and what they told after them, in order: they wait for it. */
  #heldAuth = [];

  /**
   * @param {{store: any, now: () => number, events: import('./emitter.js').Emitter}} deps
   */
  constructor({ store, now, events }) {
    this.store = store;
    this.wallClock = now;
    this.events = events;
    this.replica = new Replica();
    this.live = new LiveQueries(this.replica, () => this.loaded);
    this.clock = null;
    this.clientId = null;
    /** @type {Map<string, {seq: number, epoch: string|null}>} */
    this.cursors = new Map();
    this.limits = DEFAULT_LIMITS;
    /** The token record {token, expiresAt, issuedAt, user} (see auth.js), or null: anonymous. */
    this.auth = null;
    /**
     * Whose data the replica and the pending queue hold: a user id, or null when they were made
     * anonymously. Anonymous data goes with whoever signs in; another user's is dropped first.
     */
    this.owner = null;
    /**
     * The store's stamp of the sign-in held here (it counts the writes of auth), or null for a store
     * that does not stamp. A tab follows another's sign-in only if stamped later (see fromTab).
     */
    this.authGen = null;
    /** Server clock minus wall clock, from welcome.time and clock_skew. */
    this.offset = 0;
    this.loaded = false;
    this.online = false;
    this.synced = {};
    this.status = Object.freeze({ online: false, pending: 0, synced: Object.freeze({}) });
  }

  /** The local clock: the wall clock corrected by the server's offset. */
  now() {
    return this.wallClock() + this.offset;
  }

  /** Loads the store into memory: replica, pending queue, cursors, clientId, clock. */
  async load(clientIdOption) {
    const state = await this.store.load();
    let clientId = state.clientId;
    if (clientIdOption != null && clientIdOption !== clientId) {
      clientId = await this.store.claimClientId(clientIdOption, true);
    } else if (clientId == null) {
      clientId = await this.store.claimClientId(randomId(20), false);
    }
    if (!isOrigin(clientId)) throw new SynclineError('bad_request', `clientId: ${JSON.stringify(clientId)} is not 1 to 64 of [A-Za-z0-9_.:-]`);
    this.clientId = clientId;
    this.clock = new Clock(clientId);
    if (state.clock) this.clock.receive(state.clock);
    // The clock never goes back across restarts: start it above everything stored, too.
    for (const r of state.registers) {
      this.replica.mergeConfirmed(r.db, r);
      this.clock.receive(r.ts);
    }
    for (const p of state.pending) {
      this.replica.setPending({ ...register(p.db, p), mine: true });
      this.clock.receive(p.ts);
    }
    // Edits queued under an earlier clientId carry its ORIGIN, and the server takes from a
    // connection only its own id's (it would refuse them for good): stamp them again under this one.
    // One the server has already (its ack was stored, its leaving the queue was not), or that a
    // newer write has beaten, is dropped instead: stamped again, it would overwrite what came after.
    const restamped = [];
    const landed = [];
    for (const p of state.pending) {
      if (p.ts.slice(19) === clientId) continue;
      this.replica.removePending(p.db, p.col, p.id, p.attr, p.ts);
      const confirmed = this.replica.confirmed(p.db, p.col, p.id, p.attr);
      if (confirmed && confirmed.ts >= p.ts) {
        landed.push(register(p.db, p));
        continue;
      }
      const next = { ...register(p.db, p), ts: this.clock.tick(this.now()) };
      this.replica.setPending({ ...next, mine: true });
      restamped.push({ from: p.ts, row: next });
    }
    if (restamped.length || landed.length) {
      await this.persist({
        registers: [],
        pendingDelete: [...landed, ...restamped.map(({ from, row }) => ({ ...row, ts: from }))],
        pendingPut: restamped.map(({ row }) => row),
        clock: this.clock.state,
      });
    }
    for (const [db, c] of Object.entries(state.cursors)) this.cursors.set(db, { seq: c.seq, epoch: c.epoch ?? null });
    this.auth = readTokenRecord(state.auth ?? null);
    this.owner = typeof state.owner === 'string' ? state.owner : null;
    this.authGen = Number.isInteger(state.authGen) ? state.authGen : null;
    this.replica.refresh(); // the loaded state is where we start, not a change: no events
    this.loaded = true;
    this.live.notifyAll();
    this.updateStatus();
    if (this.user) this.events.emit('auth', { user: this.user });
  }

  /** The signed-in user {id, roles}, or null. */
  get user() {
    return this.auth?.user ?? null;
  }

  /**
   * Queues a store write after the earlier ones. Rejects (and emits 'error') if it fails. What a
   * failed write would have wiped, dropped and stored rides along with the next one, so a later
   * cursor is never stored without the registers it covers (a reload would never fetch them).
   */
  persist(batch) {
    // the data is this owner's: if another tab signed out or in as someone else meanwhile, the
    // store skips it (ifOwner), so it never lands under the next user (a sign-in sets owner itself)
    const ifOwner = this.owner;
    const p = this.#writes.then(() => {
      // a failed write's data goes along only while it is still this client's user's (another tab
      // may have signed out, or in as someone else, since)
      const carried = this.#unstored && belongsWith(this.#unstoredOwner, ifOwner) ? this.#unstored : null;
      const merged = withUnstored(carried, batch);
      const full = merged.owner === undefined ? { ...merged, ifOwner } : merged;
      return this.store.write(full).then(
        (written) => {
          this.#unstored = null;
          // a failed sign-in carried along is stamped here
          if (Number.isInteger(written?.authGen) && this.authGen !== null) this.authGen = Math.max(this.authGen, written.authGen);
          // the store wiped what this tab did not (another tab's sign-in as someone else landed
          // first): put back what it holds, before any later write, whose cursors chain on it
          if (written?.wiped && !full.wipe) return this.#writeBack(full.owner !== undefined ? full.owner : ifOwner).then(() => written);
          return written;
        },
        (e) => {
          this.#unstored = full;
          this.#unstoredOwner = full.owner !== undefined ? full.owner : ifOwner;
          throw e;
        },
      );
    });
    this.#writes = p.catch(() => {});
    p.catch((e) => this.events.emit('error', errorEvent('storage', `store: ${e?.message ?? e}`)));
    return p;
  }

  /**
   * Writes what memory holds into a store that wiped it under this tab's sign-in as `owner`:
   * anonymous data or `owner`'s own, which goes with them. Confirmed registers with each cursor
   * as a whole copy (so later frames' cursors chain on it), and the pending queue, told again to
   * the other tabs, which dropped it on hearing of the wipe. Nothing when this tab has since
   * signed out or in as someone else (its memory is not `owner`'s), nor once the store is not
   * `owner`'s (ifOwner). A failure is reported, and its batch rides along with the next write.
   */
  #writeBack(owner) {
    if (this.owner !== owner) return Promise.resolve();
    const cursors = Object.fromEntries([...this.cursors].map(([db, c]) => [db, { seq: c.seq, epoch: c.epoch ?? null }]));
    const pending = this.replica.allPending().map((p) => register(p.db, p));
    const batch = { registers: this.replica.allConfirmed(), cursors, pendingPut: pending, clock: this.clock.state, ifOwner: owner };
    return this.store.write(batch).then(
      () => {
        if (pending.length) this.#post({ kind: 'local', rows: pending, owner });
      },
      (e) => {
        this.#unstored = batch;
        this.#unstoredOwner = owner;
        this.events.emit('error', errorEvent('storage', `store: ${e?.message ?? e}`));
      },
    );
  }

  /** Resolves once every queued store write has finished. */
  flushed() {
    return this.#writes;
  }

  /** Reports documents that look different: doc events, live queries, status. */
  publish(changes, local, { status = true } = {}) {
    this.events.batch(() => {
      for (const { db, col, id, before, after } of changes) {
        const type = before === null ? 'doc:create' : after === null ? 'doc:destroy' : 'doc:update';
        this.events.emit(type, { db, col, id, doc: after, previous: before, local });
      }
    });
    if (changes.length) this.live.notify(changes);
    if (status) this.updateStatus();
  }

  updateStatus() {
    const s = this.status;
    const pending = this.replica.pendingCount;
    const syncedSame = Object.keys(s.synced).length === Object.keys(this.synced).length
      && Object.entries(this.synced).every(([db, seq]) => s.synced[db] === seq);
    if (s.online === this.online && s.pending === pending && syncedSame) return;
    this.status = Object.freeze({ online: this.online, pending, synced: Object.freeze({ ...this.synced }) });
    this.events.emit('status', this.status);
  }

  setOnline(online) {
    this.online = online;
    if (!online) this.synced = {};
    this.updateStatus();
  }

  setSynced(db, seq) {
    if (!this.online) return; // a listener of the frame that said so took the client offline
    this.synced = { ...this.synced, [db]: seq };
    this.updateStatus();
  }

  /** The database is not caught up: no longer followed (it does not exist, or its subscription ended), or caught up again after a reset. */
  setUnsynced(db) {
    if (!(db in this.synced)) return;
    const { [db]: _gone, ...rest } = this.synced;
    this.synced = rest;
    this.updateStatus();
  }

  emitError(code, message, details) {
    this.events.emit('error', errorEvent(code, message, details));
  }

  // ---- who the client is ----

  /**
   * Keeps a new token record (login, signup, renew). If the replica holds another user's data,
   * that data and the pending queue are dropped first (see signOut). Returns {wiped}.
   */
  signIn(record) {
    const wiped = this.owner !== null && this.owner !== record.user.id;
    const before = this.user;
    const dropped = wiped ? this.#dropEverything() : [];
    this.auth = record;
    this.owner = record.user.id;
    const owner = this.owner;
    this.#storeAuth({ wipe: wiped, auth: record, owner }, { kind: 'auth', auth: record, owner, wiped });
    this.publish(dropped, false);
    if (!sameUser(before, record.user)) this.events.emit('auth', { user: record.user });
    return { wiped };
  }

  /**
   * A renewed token of the user signed in here. Kept only while that user still is (another tab
   * may have signed out, or in as someone else, since), and stored only if the store is still theirs.
   */
  renewed(record) {
    if (this.auth?.user.id !== record.user.id || this.owner !== record.user.id) return;
    const before = this.user;
    this.auth = record;
    const { owner } = this;
    this.#storeAuth({ auth: record }, { kind: 'auth', auth: record, owner, wiped: false, renewal: true });
    if (!sameUser(before, record.user)) this.events.emit('auth', { user: record.user });
  }

  /**
   * The server refused this client's token (expired, password changed, user disabled): forgets
   * it. The data stays, and the queue waits for its user to sign in again (see Session#mayPush).
   * Stored only while the store is still this user's, and told to the other tabs as the refusal of
   * that token: a tab that signed in since, as anyone, keeps its sign-in.
   */
  refused(token) {
    const { auth, owner } = this;
    if (!auth || (token && auth.token !== token.token)) return false;
    this.auth = null;
    this.#storeAuth({ auth: null }, { kind: 'auth', auth: null, owner, wiped: false, refused: auth.token });
    this.events.emit('auth', { user: null });
    return true;
  }

  /**
   * Forgets the token (logout), and drops every database's confirmed data, its cursor and the
   * pending queue, which belong to the user signing out and must not be pushed under another
   * identity.
   */
  signOut() {
    const before = this.user;
    const dropped = this.#dropEverything();
    this.owner = null;
    this.auth = null;
    this.#storeAuth({ wipe: true, auth: null, owner: null }, { kind: 'auth', auth: null, owner: null, wiped: true });
    this.publish(dropped, false);
    if (before !== null) this.events.emit('auth', { user: null });
  }

  // ---- telling the other tabs ----

  /**
   * A sign-in or out is told to the other tabs once its store write has landed: a tab that
   * followed at once could store under the new user ahead of the wipe (which then dropped it), or
   * be skipped as not the store's owner yet. What this tab tells after it waits behind it, so the
   * others always hear who wrote before what was written. `message` may be a function, called
   * when it is told, returning the message or null (nothing to tell by then).
   */
  #postWhenStored(stored, message) {
    const entry = { message, ready: false };
    this.#held.push(entry);
    stored.finally(() => {
      entry.ready = true;
      while (this.#held[0]?.ready) {
        const { message } = this.#held.shift(); // not inside tabs?.post(…): without tabs it would not run
        const next = typeof message === 'function' ? message() : message; // one made when told
        if (next) this.tabs?.post(next);
      }
    }).catch(() => {});
  }

  /**
   * Stores a sign-in or out (`batch` sets auth) and tells the other tabs once it has landed, with
   * the stamp the store gave it in the store's own order: tabs follow only a sign-in stamped later
   * than theirs, so two tabs signing in at once as two users both end as the one the store took
   * last, as a reload does. What other tabs tell meanwhile waits until this one is stamped. Not
   * told when the store skipped it (ifOwner: the sign-in it renews or ends is gone); told
   * unstamped, as before stamps, when the write failed or the store does not stamp.
   */
  #storeAuth(batch, message) {
    this.#authWrites += 1;
    let written = null; // the store's answer; null: the write failed
    const stored = this.persist(batch);
    stored.then((r) => { written = r; }, () => {}); // before #postWhenStored's: it runs first
    this.#postWhenStored(stored, () => {
      this.#authWrites -= 1;
      let told = message;
      if (Number.isInteger(written?.authGen)) {
        // wiped also when another tab's sign-in as someone else landed first: the tabs that hold
        // its data drop it. This tab keeps what it holds: anonymous data, or this user's (stored
        // again by persist: see #writeBack).
        told = { ...message, authGen: written.authGen, wiped: message.wiped || Boolean(written.wiped) };
      } else if (written === undefined && this.authGen !== null) {
        told = null; // skipped
      }
      const gen = this.authGen;
      if (this.#authWrites === 0) for (const m of this.#heldAuth.splice(0)) this.fromTab(m);
      // not stored, and this tab has since followed another tab's sign-in, which the store did
      // take: this one is no longer held here, and told, it would sign the others in against the store
      if (written === null && this.authGen !== gen) told = null;
      return told;
    });
  }

  #post(message) {
    if (this.#held.length) this.#held.push({ message, ready: true });
    else this.tabs?.post(message);
  }

  /** welcome.user: the server's current view of the signed-in user, whose roles may have changed. */
  updateUser(user) {
    if (!this.auth || !user || user.id !== this.auth.user.id || sameUser(user, this.auth.user)) return;
    this.auth = Object.freeze({ ...this.auth, user });
    const { auth, owner } = this;
    this.#storeAuth({ auth }, { kind: 'auth', auth, owner, wiped: false, renewal: true });
    this.events.emit('auth', { user });
  }

  // In memory only: every document disappears, and the cursors go. Returns the changes, told
  // (publish) by the caller once the new identity is set and the wipe is queued for the store:
  // a listener that writes in reaction does so as the new user, and its write lands after the wipe.
  #dropEverything() {
    this.replica.clear();
    this.cursors.clear();
    this.synced = {};
    return this.replica.refresh();
  }

  // ---- local edits ----

  /**
   * Sets attributes of one document: checked, stamped with one new timestamp, applied at once
   * (events, live queries), then persisted and queued. Resolves once the store has it.
   * Throws SynclineError ('bad_request' | 'too_large') before changing anything.
   */
  write(db, col, id, attrs) {
    if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) {
      throw new SynclineError('bad_request', 'set: expects an object of attributes', { db, col, id });
    }
    const entries = [];
    const shown = this.replica.doc(db, col, id);
    for (const [attr, input] of Object.entries(attrs)) {
      if (attr === 'id' || input === undefined) continue; // the id is not an attribute
      // a reserved attribute the server wrote ($owner), passed back as read: set({...doc.get(), done: true})
      if (attr.startsWith('$') && attr !== '$deleted' && shown && attr in shown && jsonEqual(shown[attr], input)) continue;
      const where = { db, col, id, attr };
      const problem = attrProblem(attr, this.limits);
      if (problem) throw new SynclineError('bad_request', problem, where);
      if (attr === '$deleted' && typeof input !== 'boolean') throw new SynclineError('bad_request', 'value: $deleted must be true or false', where);
      const stored = toStoredValue(input);
      if (stored.problem) throw new SynclineError('bad_request', stored.problem, where);
      const bytes = encodedValueBytes(stored.value);
      if (bytes > this.limits.maxValueBytes) {
        throw new SynclineError('too_large', `value: ${bytes} bytes, at most ${this.limits.maxValueBytes}`, where);
      }
      entries.push([attr, stored.value]);
    }
    if (entries.length === 0) return Promise.resolve();
    // The clock can be behind what the replica holds for these attributes (correctClock sets it
    // back below writes still pending): an edit stamped under those would not show, nor be pushed.
    for (const [attr] of entries) {
      for (const held of [this.replica.confirmed(db, col, id, attr), this.replica.pendingEntry(db, col, id, attr)]) {
        if (held) this.clock.receive(held.ts);
      }
    }
    const ts = this.clock.tick(this.now());
    const rows = entries.map(([attr, value]) => ({ db, col, id, attr, value, ts }));
    for (const r of rows) this.replica.setPending({ ...r, mine: true });
    this.publish(this.replica.refresh(), true);
    const stored = this.#tellLocal(rows, () => this.persist({ pendingPut: rows, clock: this.clock.state }));
    // pushed even if the store failed: the edit is applied and pending in memory all the same
    return stored.finally(() => this.onPending(db)).catch((e) => {
      throw new SynclineError('storage', `store: ${e?.message ?? e} (the edit is applied and will be pushed, but not kept across a reload)`, { db, col, id });
    });
  }

  // ---- from the server ----

  /**
   * A `changes` frame: merge, report, persist the registers with the cursor. A destroyed
   * document's values the server purged (`valuesPurged`) go from memory and the store.
   */
  applyChanges(db, deltas, cursor) {
    const applied = [];
    const forget = [];
    for (const d of deltas) {
      this.clock.receive(d.ts);
      if (this.replica.mergeConfirmed(db, d) === 'applied') applied.push(register(db, d));
      if (d.valuesPurged) forget.push(...this.replica.forgetHidden(db, d.col, d.id, d.ts));
    }
    this.publish(this.replica.refresh(), false);
    if (applied.length || forget.length) this.#post({ kind: 'remote', db, rows: applied, forget, owner: this.owner });
    const after = this.#cursorBefore(db, cursor);
    this.cursors.set(db, cursor);
    // Every register of the frame goes with its cursor, also one this replica already held: it may
    // have come from another tab, whose store write may land after this cursor, or never. (The
    // store keeps the newest of what it has and what it is given, so this never goes back.)
    const rows = applied.length === deltas.length ? applied : deltas.map((d) => register(db, d));
    return this.persist({ registers: rows, forget, cursors: { [db]: { ...cursor, after } }, clock: this.clock.state });
  }

  /** After a reset: `deltas` is the database's whole state; pending writes stay. */
  replaceDatabase(db, deltas, cursor) {
    for (const d of deltas) this.clock.receive(d.ts);
    const rows = deltas.map((d) => register(db, d));
    this.replica.replaceConfirmed(db, rows);
    this.publish(this.replica.refresh(), false);
    this.#post({ kind: 'reset', db, rows, cursor, owner: this.owner });
    this.cursors.set(db, cursor);
    return this.persist({ drop: [db], registers: rows, cursors: { [db]: cursor }, clock: this.clock.state });
  }

  /**
   * The cursor a frame of `db` follows, for the store: it takes the frame's cursor only where the
   * stored one has reached it (see takesCursor). None yet: the frame follows the start.
   */
  #cursorBefore(db, cursor) {
    const before = this.cursors.get(db);
    return before ? { seq: before.seq, epoch: before.epoch ?? null } : { seq: 0, epoch: cursor.epoch ?? null };
  }

  /** Stores a cursor that moved without data (synced.seq beyond the last changes.seq). */
  saveCursor(db, cursor) {
    const c = this.cursors.get(db);
    if (c && c.seq === cursor.seq && c.epoch === cursor.epoch) return Promise.resolve();
    const after = this.#cursorBefore(db, cursor);
    this.cursors.set(db, cursor);
    return this.persist({ cursors: { [db]: { ...cursor, after } } });
  }

  /**
   * The results of pushed deltas (an ack, or refusals found before sending): recorded ones leave
   * the queue and join the confirmed state; clock_skew ones are stamped again; refused ones are
   * dropped, so their attribute returns to the server's value; quorum_timeout ones stay queued and
   * are reported. Returns {retry, retryAfterMs}: retry when some deltas should be pushed again
   * later, after retryAfterMs if the server said.
   */
  settle(db, deltas, results) {
    const recorded = [];
    const dropped = [];
    const skewed = [];
    const unconfirmed = [];
    let retry = false;
    let retryAfterMs;
    deltas.forEach((d, i) => {
      const r = results[i];
      if (r === undefined) return; // no result: stays queued and is pushed again
      if (typeof r === 'string') {
        const entry = this.replica.removePending(db, d.col, d.id, d.attr, d.ts);
        // the server holds it (applied, duplicate): it joins the confirmed state (the store, too,
        // keeps the newest, so it never goes back to an older value that came in meanwhile).
        // Superseded: the server kept something newer, or nothing at all (a write from before a
        // destroy), so the losing value is not this replica's copy of the server's
        if (r !== 'superseded') this.replica.mergeConfirmed(db, d);
        // Written again since? Then the newer write tells whose edit this attribute is.
        const mine = entry ? entry.mine : (this.replica.pendingEntry(db, d.col, d.id, d.attr)?.mine ?? false);
        recorded.push({ d, result: r, mine });
      } else if (r.error === 'clock_skew') {
        skewed.push({ d, serverTime: r.serverTime });
      } else if (r.error === 'quorum_timeout') {
        // Stored on that server, but not yet on w servers: not recorded; pushed again, like overloaded.
        // Reported only while it is still the attribute's write: a newer one gets an answer of its own.
        retry = true;
        const still = this.replica.pendingEntry(db, d.col, d.id, d.attr);
        if (still?.mine && still.ts === d.ts) unconfirmed.push({ d, error: r });
      } else if (!FINAL.has(r.error)) {
        retry = true;
        if (Number.isFinite(r.retryAfterMs)) retryAfterMs = Math.max(retryAfterMs ?? 0, r.retryAfterMs);
      } else {
        const entry = this.replica.removePending(db, d.col, d.id, d.attr, d.ts);
        if (entry) dropped.push({ d, error: r, mine: entry.mine });
      }
    });
    const restamped = [];
    if (skewed.length) {
      const serverTime = skewed.find((s) => Number.isInteger(s.serverTime))?.serverTime;
      // without the server's time the new stamp may be refused again: not at once, then
      if (serverTime !== undefined) this.correctClock(serverTime);
      else retry = true;
      for (const { d } of skewed) {
        const entry = this.replica.pendingEntry(db, d.col, d.id, d.attr);
        if (!entry || entry.ts !== d.ts) continue; // written again since: that write goes instead
        const next = { ...entry, ts: this.clock.tick(this.now()) };
        this.replica.removePending(db, d.col, d.id, d.attr, d.ts);
        this.replica.setPending(next);
        restamped.push({ from: d.ts, row: register(db, next) });
      }
    }
    this.publish(this.replica.refresh(), false, { status: false });
    for (const { d, result, mine } of recorded) {
      if (mine) this.events.emit('doc:record', { db, col: d.col, id: d.id, attr: d.attr, ts: d.ts, result });
    }
    for (const { d, error, mine } of dropped) if (mine) this.#deltaError(db, d, error);
    for (const { d, error } of unconfirmed) this.#deltaError(db, d, error);
    this.updateStatus();
    if (recorded.length || dropped.length || restamped.length) {
      this.#post({
        kind: 'settled',
        db,
        owner: this.owner,
        recorded: recorded.map(({ d, result }) => ({ ...delta(d), result })),
        dropped: dropped.map(({ d, error }) => ({ ...delta(d), error })),
        restamped,
      });
      this.persist({
        // also one that did not win here: it may have won from another tab's message, whose
        // store write may never land, while this one removes the pending entry
        registers: recorded.filter(({ result }) => result !== 'superseded').map(({ d }) => register(db, d)),
        pendingDelete: [...recorded, ...dropped].map(({ d }) => register(db, d))
          .concat(restamped.map(({ from, row }) => ({ ...row, ts: from }))),
        pendingPut: restamped.map(({ row }) => row),
        clock: this.clock.state,
      }).catch(() => {});
    }
    return { retry, retryAfterMs };
  }

  // The 'error' event for one pushed delta's result {error, message?, servers?}.
  #deltaError(db, d, result) {
    this.emitError(result.error, result.message ?? result.error, { db, col: d.col, id: d.id, attr: d.attr, servers: result.servers });
  }

  /**
   * Takes the server's time as the clock offset. If our clock state ran past what the server
   * accepts (a wall clock that was ahead when we wrote offline), set it back to the newest
   * timestamp we hold that the server would accept: the refused writes are stamped again.
   */
  correctClock(serverTime) {
    this.offset = serverTime - this.wallClock();
    const limit = String(serverTime + this.limits.maxClockSkewMs).padStart(13, '0') + '-ffff';
    if (this.clock.state <= limit) return;
    let newest = '0000000000000-0000';
    for (const ts of this.replica.timestamps()) {
      const head = ts.slice(0, 18);
      if (head <= limit && head > newest) newest = head;
    }
    this.clock.restore(newest);
  }

  // ---- from other tabs ----

  // Tabs on one store write with one ORIGIN, so two of them can stamp different values of one
  // attribute with the same timestamp, which merge would take for one write. When that happens,
  // the tab holding the smaller value (by its JSON text) stamps its write again, later: exactly
  // one tab gives way, so the tabs agree, and the re-stamped write wins everywhere.
  #separate(collided) {
    const from = [];
    const rows = [];
    for (const { own, theirs } of collided) {
      if (!(JSON.stringify(own.value) < JSON.stringify(theirs.value))) continue; // they give way
      const next = { ...own, ts: this.clock.tick(this.now()) };
      this.replica.removePending(own.db, own.col, own.id, own.attr, own.ts);
      this.replica.setPending(next);
      from.push(register(own.db, own));
      rows.push(register(own.db, next));
    }
    if (rows.length === 0) return;
    this.#tellLocal(rows, () => this.persist({ pendingDelete: from, pendingPut: rows, clock: this.clock.state })).catch(() => {});
  }

  /**
   * Tells the other tabs of this tab's pending writes `rows` at once, stores them (`store()`, which
   * returns the write), and tells them again once stored: a tab opening meanwhile may have read the
   * store before this write and opened its channel after the first message, and would not know of
   * them (nor push them, if this tab closed first) until a later load. Only what is still pending
   * here then: one settled meanwhile (by another tab, too) would be queued again by a tab that
   * settled it. Returns the write.
   */
  #tellLocal(rows, store) {
    const { owner } = this;
    this.#post({ kind: 'local', rows, owner });
    const stored = store();
    this.#postWhenStored(stored, () => {
      const still = rows.filter((r) => this.replica.pendingEntry(r.db, r.col, r.id, r.attr)?.ts === r.ts);
      return still.length ? { kind: 'local', rows: still, owner } : null;
    });
    return stored;
  }

  /** A message another tab posted on the store's channel (see tabs.js). */
  fromTab(message) {
    if (!this.loaded || message === null || typeof message !== 'object') return;
    // what a tab tells after a sign-in or out held here waits behind it: the data of a tab that
    // signed out (anonymous) must not reach this tab while it still holds, and pushes as, that user
    if (this.#heldAuth.length > 0) {
      this.#heldAuth.push(message);
      return;
    }
    // data a tab sent before it heard that another signed out or in as someone else
    if (message.kind !== 'auth' && !belongsWith(message.owner, this.owner)) return;
    const { db } = message;
    switch (message.kind) {
      case 'local': {
        const collided = [];
        for (const r of message.rows) {
          this.clock.receive(r.ts);
          const own = this.replica.pendingEntry(r.db, r.col, r.id, r.attr);
          if (own && own.ts === r.ts && !jsonEqual(own.value, r.value)) collided.push({ own, theirs: r });
          // one the server holds, or holds something newer than (settled here already: an edit is
          // told twice), is not queued again: pushed, it would only come back duplicate or superseded
          const held = this.replica.confirmed(r.db, r.col, r.id, r.attr);
          if (held && decide(held.ts, held.value, r.ts, r.value) !== 'applied') continue;
          this.replica.setPending({ ...r, mine: false });
        }
        this.#separate(collided);
        this.publish(this.replica.refresh(), false);
        for (const pendingDb of new Set(message.rows.map((r) => r.db))) this.onPending(pendingDb);
        break;
      }
      case 'remote':
        // forgotten first, as the store does: an older value of its attribute, taken since, stays
        for (const r of message.forget ?? []) this.replica.forgetConfirmed(db, r);
        for (const r of message.rows) {
          this.clock.receive(r.ts);
          this.replica.mergeConfirmed(db, r);
        }
        this.publish(this.replica.refresh(), false);
        // Forgotten here, this tab's own copy of the frame finds nothing left to forget, and stores
        // its cursor without the forgetting: store it now, in case the sender's write never lands
        // (a forget removes a register only while it still has that ts, so a second one is harmless)
        if (message.forget?.length) this.persist({ forget: message.forget }).catch(() => {});
        break;
      case 'reset': {
        // A whole copy another tab swapped in. This tab holds everything up to its own cursor: when
        // that is of the copy's life and at or past it, this tab holds all the copy does and more,
        // which its subscription, past it, would not send again. Otherwise the copy replaces it.
        const own = this.cursors.get(db);
        const { cursor } = message;
        if (cursor && own && (own.epoch ?? null) === (cursor.epoch ?? null) && own.seq >= cursor.seq) {
          for (const r of message.rows) this.replica.mergeConfirmed(db, r);
        } else {
          this.replica.replaceConfirmed(db, message.rows);
        }
        this.publish(this.replica.refresh(), false);
        break;
      }
      case 'settled': {
        const records = [];
        for (const d of message.recorded) {
          const entry = this.replica.removePending(db, d.col, d.id, d.attr, d.ts);
          if (d.result !== 'superseded') this.replica.mergeConfirmed(db, d); // as settle() does
          if (entry?.mine) records.push(d);
        }
        const errors = [];
        for (const d of message.dropped) {
          const entry = this.replica.removePending(db, d.col, d.id, d.attr, d.ts);
          if (entry?.mine) errors.push(d);
        }
        for (const { from, row } of message.restamped) {
          const entry = this.replica.removePending(db, row.col, row.id, row.attr, from);
          if (entry) this.replica.setPending({ ...row, mine: entry.mine });
          this.clock.receive(row.ts);
        }
        this.onStored(db, message.recorded.filter((d) => d.result === 'applied' || d.result === 'duplicate'));
        this.publish(this.replica.refresh(), false, { status: false });
        for (const d of records) this.events.emit('doc:record', { db, col: d.col, id: d.id, attr: d.attr, ts: d.ts, result: d.result });
        for (const d of errors) this.#deltaError(db, d, d.error);
        this.updateStatus();
        break;
      }
      case 'auth': {
        // The tab that signed in or out stored it; here only memory follows.
        if (this.#authWrites > 0) {
          this.#heldAuth.push(message); // which the store took last is known once this tab's is stamped
          break;
        }
        const before = this.user;
        const owner = typeof message.owner === 'string' ? message.owner : null;
        if (Number.isInteger(message.authGen)) {
          // the store took it before what this tab holds: stale, whatever it says
          if (this.authGen !== null && message.authGen <= this.authGen) break;
          this.authGen = message.authGen;
        } else {
          // a renewal or a role change of a sign-in this tab no longer has, or the refusal of a
          // token it no longer holds: stale
          if (message.renewal && this.owner !== owner) break;
          if (message.refused && this.auth?.token !== message.refused) break;
        }
        // this tab's data is dropped when it is another user's, whatever the sender held
        const dropped = message.wiped || !belongsWith(this.owner, owner) ? this.#dropEverything() : [];
        this.auth = readTokenRecord(message.auth);
        this.owner = owner;
        this.publish(dropped, false);
        if (!sameUser(before, this.user)) this.events.emit('auth', { user: this.user });
        this.onAuth({ changed: dropped.length > 0 || Boolean(message.wiped) || before?.id !== this.user?.id });
        break;
      }
      default:
        break; // a later version's message
    }
  }
}

