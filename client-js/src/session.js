// One connection's protocol (PROTOCOL.md §7–§10): hello/welcome, sign-in (login, signup, renew),
// a subscription per database, pushes and acks. A new Session is made for every socket that opens, so nothing of a dropped
// connection (requests, subscriptions, pushes in flight) can leak into the next one; unacked
// deltas simply stay in the pending queue and are pushed again.
//
// Frames are dispatched through one table keyed by message type. Pushes: at most one push in
// flight per database, of at most maxDeltasPerPush deltas and maxMessageBytes bytes; the next
// one goes when the ack comes, so edits made meanwhile are batched.
//
// Sign-in: hello carries the stored token; login/signup answers are handed to the client
// (hooks.signedIn), which keeps them. The token this connection holds is renewed once less than
// half of its lifetime is left. A token the server refuses (at hello, on renew, or unsolicited
// when it expires or its user is disabled) goes to hooks.unauthenticated.

import { MAX_TIMER_MS, offlineError, renewDelay, tokenRecord } from './auth.js';

import { decodeServer, encodeClient, ProtocolError } from './codec.js';
import { SynclineError } from './errors.js';
import { decide } from './merge.js';
import { checkDelta, DEFAULT_LIMITS } from './names.js';
import { utf8Length } from './values.js';
import { keptWithPurgedValues } from './visibility.js';

/** Room kept in a push frame for everything but the deltas. */
const PUSH_ENVELOPE_BYTES = 512;
/** Retry delay for an error that came without retryAfterMs. */
const DEFAULT_RETRY_MS = 1000;
/** Retry delay for a renew the server failed (not refused) to answer. */
const RENEW_RETRY_MS = 60000;
const TRANSIENT = new Set(['rate_limited', 'overloaded']);
/** How long a hello refused for now (overloaded, rate_limited) is said again before the app is told. */
export const HELLO_QUIET_MS = 10000;
/** Longest wait between looks for a database the server says does not exist (it may be created again). */
const MISSING_RETRY_MAX_MS = 60000;
/** The wait after `wait` (undefined: the first) while a database is missing: 1 s, doubling up to a minute. */
const nextMissingWait = (wait) => (wait === undefined ? DEFAULT_RETRY_MS : Math.min(wait * 2, MISSING_RETRY_MAX_MS));

export class Session {
  #core;
  #transport;
  #rid = 0;
  #requests = new Map(); // rid -> {kind, db?, resolve?, reject?}
  #subs = new Map(); // db -> {db, sid, epoch, buffer, live}
  #bySid = new Map(); // sid -> sub
  #inflight = new Map(); // db -> deltas of the push in flight
  #blocked = new Map(); // db -> timer, or true until the next connection
  #missing = new Map(); // db -> {wait, timer} of the next look, while a sub is answered not_found
  #heldPushes = new Map(); // db -> the last wait, while its pushes are answered not_found
  #timers = new Set();
  #helloAt = 0;
  #helloRefusedAt = 0; // when this socket's hellos began to be refused for now (0: not refused)
  #helloRefusalTold = false;
  #closed = false;
  #token = null; // the token record this connection is signed in with, or null
  #signingIn = 0; // login/signup requests not answered yet: the server may switch users on them
  #renewTimer = null;
  welcomed = false;

  /**
   * @param {import('./core.js').ClientCore} core
   * @param {{send(text: string): boolean, connected(): void}} transport
   * @param {{w: number|null, databases: () => Iterable<string>, connected: (welcome: object) => void,
   *   signedIn: (record: object, renewal: boolean) => void,
   *   unauthenticated: (error: object, refused: object|null) => void}} hooks
   *   w: sent as push.w (null: left out); signedIn: a token answer (login, signup, renew);
   *   unauthenticated: the server refused `refused`, the token this connection was signed in with
   */
  constructor(core, transport, hooks) {
    this.#core = core;
    this.#transport = transport;
    this.hooks = hooks;
  }

  #send(message) {
    if (this.#closed) return null;
    const rid = ++this.#rid;
    this.#transport.send(encodeClient({ ...message, rid }));
    return rid;
  }

  #later(ms, fn) {
    // closed already (a listener closed the client while this connection was being handled): a
    // timer started now would outlive it, keeping a Node process alive for days (token renewal)
    if (this.#closed) return null;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(t);
    return t;
  }

  /** The socket opened: say hello, with the stored token if there is one. */
  open() {
    this.#helloAt = this.#core.wallClock();
    this.#token = this.#core.auth;
    const rid = this.#send({ type: 'hello', protocol: 1, clientId: this.#core.clientId, token: this.#token?.token });
    this.#requests.set(rid, { kind: 'hello' });
  }

  /** The socket is gone: forget everything of this connection. Unanswered sign-ins reject ('offline'). */
  close() {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const req of this.#requests.values()) req.reject?.(offlineError('the connection closed before the server answered'));
    this.#requests.clear();
  }

  /**
   * Sends `login` or `signup`. Resolves to the token record once hooks.signedIn has taken it;
   * rejects with a SynclineError: the server's code (unauthenticated, rate_limited with
   * retryAfterMs, forbidden, bad_request, …), or 'offline' when this connection can't answer.
   */
  signIn(type, username, password) {
    if (this.#closed || !this.welcomed) return Promise.reject(offlineError());
    return new Promise((resolve, reject) => {
      const rid = this.#send({ type, username, password });
      this.#signingIn++;
      this.#requests.set(rid, { kind: type, resolve, reject });
    });
  }

  // Renews the token once less than half of its lifetime is left (re-armed after every answer,
  // and after a delay longer than a timer can wait).
  #armRenewal(delay) {
    clearTimeout(this.#renewTimer);
    this.#timers.delete(this.#renewTimer);
    this.#renewTimer = null;
    if (!this.#token) return;
    const wait = delay ?? renewDelay(this.#token, this.#core.now());
    if (wait > 0) {
      this.#renewTimer = this.#later(Math.min(wait, MAX_TIMER_MS), () => this.#armRenewal());
      return;
    }
    const rid = this.#send({ type: 'renew' });
    this.#requests.set(rid, { kind: 'renew' });
  }

  // The server refused this connection's token. The client forgets it and reconnects anonymously.
  #lostSignIn(m) {
    const refused = this.#token;
    this.#token = null;
    this.#armRenewal();
    this.hooks.unauthenticated(m, refused);
  }

  // Signed in on this connection: what was refused before may be allowed now. Subscribe again
  // to the databases whose `sub` was refused, unblock pushes, renew in time.
  #afterSignIn() {
    for (const [db, blocked] of this.#blocked) if (blocked === true) this.#blocked.delete(db);
    for (const db of this.hooks.databases()) this.subscribe(db);
    this.flush();
    this.#armRenewal();
  }

  /** One text frame from the server. */
  receive(text) {
    let message;
    try {
      message = decodeServer(text);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.#core.emitError('protocol', `unreadable server message: ${e.message}`);
      return;
    }
    if (message === null) return; // a type from a later protocol version
    const handle = this.#handlers[message.type];
    if (handle) handle.call(this, message);
  }

  /** Subscribes to a database (now if welcomed, else on welcome). */
  subscribe(db) {
    if (!this.welcomed || this.#subs.has(db)) return;
    const cursor = this.#core.cursors.get(db);
    const sub = { db, sid: null, epoch: null, buffer: null, live: false };
    this.#subs.set(db, sub);
    const rid = this.#send({
      type: 'sub',
      db,
      since: cursor?.seq > 0 ? cursor.seq : null,
      epoch: cursor?.epoch ?? null,
    });
    this.#requests.set(rid, { kind: 'sub', db });
  }

  #resubscribeLater(db, ms) {
    this.#later(ms, () => this.subscribe(db));
  }

  /** Pushes every database that has pending writes. */
  flush() {
    for (const db of this.#core.replica.pendingDatabases()) this.push(db);
  }

  /**
   * Whether the pending queue may be pushed on this connection: it holds anonymous edits, or
   * edits of the user this connection is signed in as. Another user's edits (whose sign-in the
   * server refused) wait for that user to sign in again.
   */
  #mayPush() {
    // the server signs the connection in as the new user when it takes the login, before its
    // answer is here: a push sent meanwhile would be committed as that user
    if (this.#signingIn > 0) return false;
    const { owner } = this.#core;
    return owner === null || owner === this.#token?.user.id;
  }

  /**
   * Pushes the next batch of a database's pending writes, unless one is in flight, or the
   * queue belongs to a user this connection is not signed in as.
   */
  push(db) {
    if (!this.welcomed || !this.#mayPush() || this.#inflight.has(db) || this.#blocked.has(db)) return;
    const { limits } = this.#core;
    const room = limits.maxMessageBytes - PUSH_ENVELOPE_BYTES - utf8Length(db);
    const batch = [];
    const refused = [];
    let bytes = 0;
    for (const entry of this.#core.replica.pendingOf(db)) {
      const d = { col: entry.col, id: entry.id, attr: entry.attr, value: entry.value, ts: entry.ts };
      // Checked against the server's limits, which may be narrower than the defaults used when
      // the edit was made: what the server would refuse is refused here, and never sent.
      const problem = checkDelta(d, limits);
      const size = problem ? 0 : utf8Length(JSON.stringify(d)) + 1;
      if (problem || size > room) {
        refused.push([d, problem ?? { code: 'too_large', message: `delta: ${size} bytes do not fit in maxMessageBytes` }]);
        continue;
      }
      if (batch.length >= limits.maxDeltasPerPush || bytes + size > room) break;
      batch.push(d);
      bytes += size;
    }
    if (refused.length) {
      this.#core.settle(db, refused.map(([d]) => d), refused.map(([, p]) => ({ error: p.code, message: p.message })));
    }
    if (batch.length === 0) return;
    this.#inflight.set(db, batch);
    const rid = this.#send({ type: 'push', db, deltas: batch, w: this.hooks.w });
    this.#requests.set(rid, { kind: 'push', db });
  }

  #cancel(timer) {
    clearTimeout(timer);
    this.#timers.delete(timer);
  }

  #block(db, ms) {
    if (ms === Infinity) {
      this.#blocked.set(db, true);
      return;
    }
    this.#blocked.set(db, this.#later(ms, () => {
      this.#blocked.delete(db);
      this.push(db);
    }));
  }

  #handlers = {
    welcome(m) {
      const now = this.#core.wallClock();
      this.#requests.delete(m.rid);
      this.#core.limits = { ...DEFAULT_LIMITS, ...m.limits };
      // The server's clock at the midpoint of the round trip.
      this.#core.offset = m.time + (now - this.#helloAt) / 2 - now;
      this.welcomed = true;
      this.#transport.connected();
      if (!m.user) this.#token = null; // not signed in after all: nothing to renew
      this.hooks.connected(m);
      for (const db of this.hooks.databases()) this.subscribe(db);
      this.flush();
      this.#armRenewal();
    },

    subscribed(m) {
      const req = this.#requests.get(m.rid);
      this.#requests.delete(m.rid);
      const sub = this.#subs.get(req?.db ?? m.db);
      if (!sub) return;
      sub.sid = m.sid;
      sub.epoch = m.epoch ?? null;
      this.#bySid.set(m.sid, sub);
      // Data held without a cursor (acked writes before the first synced): the sub named no epoch,
      // so the server cannot tell an old life's copy. Take the whole database in its place, as after
      // a reset, or the writes of a database destroyed and made again meanwhile would stay.
      if (!this.#core.cursors.has(sub.db) && this.#core.replica.hasConfirmed(sub.db)) sub.buffer = new Map();
      this.#databaseFound(sub.db);
    },

    reset(m) {
      const sub = this.#bySid.get(m.sid);
      if (!sub) return;
      // The whole database follows. Collect it and swap it in at `synced`, so readers never see
      // the database empty in between, and a drop before then leaves the old copy intact. The
      // reset names the subscription's new epoch (what this user may read changed, or the
      // database was created again); older servers leave it out and `subscribed`'s stands.
      sub.buffer = new Map();
      if (m.epoch != null) sub.epoch = m.epoch;
      this.#core.setUnsynced(sub.db); // until the reset's synced: the copy held now is about to be replaced
    },

    changes(m) {
      const sub = this.#bySid.get(m.sid);
      if (!sub) return;
      if (sub.buffer) {
        // PROTOCOL §5: every timestamp received moves the clock, also one only collected until
        // synced, or an edit made meanwhile is stamped below it and loses to it
        for (const d of m.deltas) this.#core.clock.receive(d.ts);
        return void this.#collect(sub, m.deltas);
      }
      this.#core.applyChanges(sub.db, m.deltas, { seq: m.seq, epoch: sub.epoch }).catch(() => {});
      if (sub.live) this.#core.setSynced(sub.db, m.seq);
    },

    synced(m) {
      const sub = this.#bySid.get(m.sid);
      if (!sub) return;
      const cursor = { seq: m.seq, epoch: sub.epoch };
      if (sub.buffer) {
        this.#core.replaceDatabase(sub.db, [...sub.buffer.values()], cursor).catch(() => {});
        sub.buffer = null;
      } else {
        this.#core.saveCursor(sub.db, cursor).catch(() => {});
      }
      sub.live = true;
      this.#core.setSynced(sub.db, m.seq);
    },

    ack(m) {
      const req = this.#requests.get(m.rid);
      this.#requests.delete(m.rid);
      if (req?.kind !== 'push') return;
      const batch = this.#inflight.get(req.db);
      this.#inflight.delete(req.db);
      if (!batch) return;
      this.#heldPushes.delete(req.db);
      // a copy being collected takes what the server just stored too: swapped in at synced, it
      // would otherwise put back what this ack replaced, when the ack comes before its changes
      this.stored(req.db, batch.filter((d, i) => m.results?.[i] === 'applied' || m.results?.[i] === 'duplicate'));
      const { retry, retryAfterMs } = this.#core.settle(req.db, batch, m.results);
      if (retry) this.#block(req.db, retryAfterMs ?? DEFAULT_RETRY_MS);
      else this.push(req.db);
    },

    error(m) {
      const req = m.rid != null ? this.#requests.get(m.rid) : undefined;
      if (req) {
        this.#requests.delete(m.rid);
        this.#requestFailed(req, m);
      } else if (m.sid != null && this.#bySid.has(m.sid)) {
        this.#subscriptionEnded(this.#bySid.get(m.sid), m);
      } else if (m.code === 'unauthenticated' && this.#token) {
        this.#lostSignIn(m); // the token expired, or its user was disabled or deleted
      } else if (m.code !== 'rate_limited') {
        this.#core.emitError(m.code, m.message);
      } // rate_limited without a rid refused a ping: the next one goes anyway
    },

    token(m) {
      const req = this.#requests.get(m.rid);
      this.#requests.delete(m.rid);
      if (!req || !['login', 'signup', 'renew'].includes(req.kind)) return;
      if (req.kind !== 'renew') this.#signingIn--;
      const record = tokenRecord(m, this.#core.now());
      if (!record) {
        const error = new SynclineError('protocol', 'token: the answer names no user');
        if (req.reject) req.reject(error);
        else this.#core.emitError(error.code, error.message);
        return;
      }
      this.#token = record;
      this.hooks.signedIn(record, req.kind === 'renew');
      if (!this.#closed) this.#afterSignIn(); // closed: the client reconnects as this user
      req.resolve?.(record);
    },

    pong(m) { this.#requests.delete(m.rid); },
    ok(m) { this.#requests.delete(m.rid); },
    result(m) { this.#requests.delete(m.rid); },
  };

  #requestFailed(req, m) {
    const retryMs = m.retryAfterMs ?? DEFAULT_RETRY_MS;
    if (req.kind === 'hello') {
      if (m.code === 'unauthenticated' && this.#token) return this.#lostSignIn(m);
      if (TRANSIENT.has(m.code)) {
        this.#helloRefused(m);
        return void this.#later(retryMs, () => this.open());
      }
      this.#core.emitError(m.code, m.message);
    } else if (req.kind === 'login' || req.kind === 'signup') {
      this.#signingIn--;
      req.reject(new SynclineError(m.code, m.message, { retryAfterMs: m.retryAfterMs }));
      this.flush(); // still who it was: what waited goes now
    } else if (req.kind === 'renew') {
      if (m.code === 'unauthenticated') return this.#lostSignIn(m);
      if (!TRANSIENT.has(m.code)) this.#core.emitError(m.code, m.message);
      this.#armRenewal(TRANSIENT.has(m.code) ? retryMs : RENEW_RETRY_MS);
    } else if (req.kind === 'sub') {
      this.#subs.delete(req.db);
      if (TRANSIENT.has(m.code)) return this.#resubscribeLater(req.db, retryMs);
      if (m.code === 'not_found') return this.#databaseMissing(req.db, m);
      if (m.code === 'forbidden') this.#databaseFound(req.db); // it exists: held pushes may go
      this.#core.emitError(m.code, m.message, { db: req.db });
      // forbidden, too_large: try again on the next connection (forbidden: also after a sign-in
      // on this one). Anything else is a server fault: try again soon.
      if (!['forbidden', 'too_large', 'bad_request'].includes(m.code)) this.#resubscribeLater(req.db, retryMs);
    } else if (req.kind === 'push') {
      this.#inflight.delete(req.db);
      if (TRANSIENT.has(m.code)) return this.#block(req.db, retryMs);
      // The whole push was refused: no such database (see #pushMissing), or (never expected) a
      // push this client got wrong. Keep the deltas and try again on the next connection; a server
      // fault, sooner.
      if (m.code === 'not_found') return this.#pushMissing(req.db, m);
      this.#core.emitError(m.code, m.message, { db: req.db });
      const final = ['forbidden', 'bad_request', 'too_large'].includes(m.code);
      this.#block(req.db, final ? Infinity : retryMs);
    } else {
      this.#core.emitError(m.code, m.message);
    }
  }

  /** Deltas an ack (this tab's or another's) said the server stored: a copy being collected takes them too. */
  stored(db, deltas) {
    const sub = this.#subs.get(db);
    if (sub?.buffer) this.#collect(sub, deltas);
  }

  // Merges registers into a copy being collected (after a reset, or with no cursor), the newer winning.
  #collect(sub, deltas) {
    for (const d of deltas) {
      const key = `${d.col}\u0000${d.id}\u0000${d.attr}`;
      const cur = sub.buffer.get(key);
      if (!cur || decide(cur.ts, cur.value, d.ts, d.value) === 'applied') sub.buffer.set(key, d);
      if (d.valuesPurged) {
        // the values it hides, sent earlier in this catch-up, are gone on the server
        const doc = `${d.col}\u0000${d.id}\u0000`;
        for (const [k, r] of sub.buffer) if (k.startsWith(doc) && !keptWithPurgedValues(r.attr) && r.ts <= d.ts) sub.buffer.delete(k);
      }
    }
  }

  // A hello refused for now is said again quietly: in a cluster, a sign-in made on another server
  // reaches this one within moments. Once that has lasted HELLO_QUIET_MS (a peer down for long),
  // the app is told, once per socket, why the client stays offline.
  #helloRefused(m) {
    const now = this.#core.wallClock();
    if (this.#helloRefusedAt === 0) this.#helloRefusedAt = now;
    else if (!this.#helloRefusalTold && now - this.#helloRefusedAt >= HELLO_QUIET_MS) {
      this.#helloRefusalTold = true;
      this.#core.emitError(m.code, `${m.message} (the connection waits for it; it keeps asking)`);
    }
  }

  // An unsolicited error about a subscription: it has ended. not_found: the database was
  // destroyed. Anything else (internal: a catch-up read failed): subscribe again.
  #subscriptionEnded(sub, m) {
    this.#bySid.delete(sub.sid);
    this.#subs.delete(sub.db);
    if (m.code === 'not_found') return this.#databaseMissing(sub.db, m);
    this.#core.setUnsynced(sub.db); // not subscribed: status.synced holds only live subscriptions
    this.#core.emitError(m.code, m.message, { db: sub.db });
    if (m.code !== 'forbidden') this.#resubscribeLater(sub.db, m.retryAfterMs ?? DEFAULT_RETRY_MS);
  }

  // The database does not exist (or was destroyed): not synced any more. An admin may create it
  // again, and nothing tells a client so: look again, less and less often, one look pending at a
  // time (a sign-in subscribes at once too). Reported once.
  #databaseMissing(db, m) {
    const prev = this.#missing.get(db);
    if (!prev && !this.#heldPushes.has(db)) this.#core.emitError(m.code, m.message, { db });
    this.#core.setUnsynced(db);
    if (prev) this.#cancel(prev.timer);
    const wait = nextMissingWait(prev?.wait);
    this.#missing.set(db, { wait, timer: this.#later(wait, () => this.subscribe(db)) });
  }

  // A push found no such database: its edits are kept and pushed again once a subscription finds
  // it, or else after a wait that grows as the lookups' does (a database written to but not
  // subscribed this run has no lookups). Reported once.
  #pushMissing(db, m) {
    const prev = this.#heldPushes.get(db);
    if (prev === undefined && !this.#missing.has(db)) this.#core.emitError(m.code, m.message, { db });
    const wait = nextMissingWait(prev);
    this.#heldPushes.set(db, wait);
    this.#block(db, wait);
  }

  // The server answered a subscription as for a database that exists: held pushes go now.
  #databaseFound(db) {
    const lookup = this.#missing.get(db);
    if (lookup) this.#cancel(lookup.timer);
    this.#missing.delete(db);
    if (!this.#heldPushes.delete(db)) return;
    const timer = this.#blocked.get(db);
    if (timer !== true) this.#cancel(timer);
    this.#blocked.delete(db);
    this.push(db);
  }
}
