// createClient: the public face. It wires the local state (core), the transport (one socket,
// reconnecting) and a protocol session per socket, hands out database handles, and signs in and
// out (a change of user is a new connection, so nothing of one identity leaks into the other).

import { credentialsProblem, offlineError, readUser, sameUser } from './auth.js';
import { ClientCore } from './core.js';
import { Emitter, report } from './emitter.js';
import { SynclineError } from './errors.js';
import { Database } from './handles.js';
import { isOrigin } from './hlc.js';
import { isDatabaseName } from './names.js';
import { Session } from './session.js';
import { memoryStore } from './stores/memory.js';
import { openTabChannel } from './tabs.js';
import { Transport, TRANSPORT_DEFAULTS } from './transport.js';
import { ulidGenerator } from './ulid.js';

/**
 * Creates a client. It loads its store (see `ready`), then connects to `url` and keeps
 * reconnecting until close(). See index.d.ts for the options.
 */
export function createClient(options) {
  return new SynclineClient(options);
}

class SynclineClient {
  #core;
  #events = new Emitter();
  #transport;
  #session = null;
  #databases = new Map();
  #tabs = null;
  #offline;
  #closed = false;
  #unfollowBrowserNetwork = () => {};
  // The browser's own offline flag (its 'offline' event, or navigator.onLine false at start).
  #browserOffline = globalThis.navigator?.onLine === false;
  #waiting = new Set(); // sign-ins waiting for a connection: (error) => void ends one
  #inner;
  #connectTimeoutMs;
  #w; // push.w: servers that must hold a push before its ack; null: the server's writeQuorum

  constructor(options = {}) {
    const { url, store = memoryStore(), clientId, WebSocket, offline = false, now = Date.now, w = null } = options;
    if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) throw new TypeError('createClient: url must be a ws:// or wss:// URL');
    if (clientId != null && !isOrigin(clientId)) throw new TypeError('createClient: clientId must be 1 to 64 of [A-Za-z0-9_.:-]');
    if (w != null && !(Number.isInteger(w) && w >= 1 && w <= 64)) throw new TypeError('createClient: w must be an integer from 1 to 64');
    for (const m of ['load', 'claimClientId', 'write', 'close']) {
      if (typeof store?.[m] !== 'function') throw new TypeError(`createClient: store has no ${m}() (see the Store interface)`);
    }
    this.#offline = Boolean(offline);
    this.#w = w;
    const core = (this.#core = new ClientCore({ store, now, events: this.#events }));
    const timing = {};
    for (const key of Object.keys(TRANSPORT_DEFAULTS)) if (options[key] !== undefined) timing[key] = options[key];
    this.#connectTimeoutMs = timing.connectTimeoutMs ?? TRANSPORT_DEFAULTS.connectTimeoutMs;
    this.#transport = new Transport({ url, WebSocket, ...timing }, {
      open: () => this.#opened(),
      message: (text) => this.#session?.receive(text),
      close: (info) => this.#dropped(info),
      error: (e) => core.emitError('network', e.message),
    });
    const newId = ulidGenerator(() => core.now());
    const ready = () => this.ready;
    const closed = () => this.#closed;
    this.#inner = {
      get limits() { return core.limits; },
      replica: core.replica,
      liveQueries: core.live,
      newId,
      async write(db, col, id, attrs) {
        // closed: its store too (a write would open it again, and hold it open)
        if (closed()) throw offlineError('the client is closed');
        if (!core.loaded) await ready();
        if (closed()) throw offlineError('the client is closed');
        return core.write(db, col, id, attrs);
      },
    };

    /** Resolves once the store is loaded (replica, pending queue, cursors, clientId, clock). */
    this.ready = this.#start(clientId);
    this.ready.catch((e) => core.emitError('storage', `could not load the store: ${e?.message ?? e}`));
  }

  async #start(clientId) {
    // open before the store is read: what another tab does meanwhile (a sign-in as someone else, a
    // logout) is heard once loaded, not missed, or this tab would go on as the user it read
    const early = [];
    let receive = (message) => early.push(message);
    const tabs = openTabChannel(this.#core.store.name, (message) => receive(message));
    try {
      await this.#core.load(clientId);
    } catch (e) {
      tabs?.close();
      throw e;
    }
    if (this.#closed) {
      tabs?.close();
      return;
    }
    this.#tabs = tabs;
    this.#core.tabs = this.#tabs;
    this.#core.onPending = (db) => this.#session?.push(db);
    this.#core.onStored = (db, deltas) => this.#session?.stored(db, deltas);
    this.#core.onAuth = ({ changed }) => {
      if (changed) this.#reconnect('signed in or out in another tab');
    };
    receive = (message) => {
      if (!this.#closed) this.#core.fromTab(message); // closing: nothing more is written
    };
    for (const message of early) {
      // a sign-in or out the load already read: dropping what was just loaded would only cost a download
      const core = this.#core;
      if (message?.kind === 'auth' && message.owner === core.owner && (message.auth?.token ?? null) === (core.auth?.token ?? null)
        && sameUser(message.auth?.user ?? null, core.auth?.user ?? null)) continue;
      try {
        core.fromTab(message);
      } catch (e) {
        report(e); // one odd message (another version's) must not keep this tab from starting
      }
    }
    if (!this.#offline) this.#transport.start();
    this.#followBrowserNetwork();
  }

  /**
   * A browser that loses its network may keep the WebSocket "open" and just hold its frames
   * (Chromium does: no close event until a ping times out). So follow the browser's own
   * offline/online signal: drop the socket when it goes offline, and on online reconnect at once,
   * backoff reset — also when the page was loaded offline.
   */
  #followBrowserNetwork() {
    if (typeof globalThis.addEventListener !== 'function') return; // not a browser
    this.#browserOffline = globalThis.navigator?.onLine === false; // it may have come back while the store loaded
    const offline = () => {
      this.#browserOffline = true;
      this.#endWaits('the browser is offline'); // as a login made now would be told at once
      if (!this.#closed && !this.#offline) this.#transport.stop();
    };
    const online = () => {
      this.#browserOffline = false;
      if (this.#closed || this.#offline) return;
      this.#transport.stop();
      this.#transport.start();
    };
    globalThis.addEventListener('offline', offline);
    globalThis.addEventListener('online', online);
    this.#unfollowBrowserNetwork = () => {
      globalThis.removeEventListener('offline', offline);
      globalThis.removeEventListener('online', online);
    };
  }

  #opened() {
    this.#session?.close();
    const core = this.#core;
    this.#session = new Session(core, this.#transport, {
      w: this.#w,
      databases: () => this.#databases.keys(),
      connected: (welcome) => {
        const user = readUser(welcome.user);
        core.updateUser(user);
        core.setOnline(true);
        this.#events.emit('connect', { serverId: welcome.serverId, time: welcome.time, user });
      },
      signedIn: (record, renewal) => {
        // A renewal of a sign-in another tab has ended since: that tab's message replaces this connection
        if (renewal) return void core.renewed(record);
        // Another user's data was dropped: start over on a new connection as the new user.
        if (core.signIn(record).wiped) this.#reconnect('signed in as another user');
      },
      unauthenticated: (error, refused) => {
        // a token another tab has replaced since (renewed, or another sign-in) is no loss: this
        // connection starts over with the one held now
        if (core.refused(refused)) core.emitError('unauthenticated', error.message);
        this.#reconnect('unauthenticated');
      },
    });
    this.#session.open();
  }

  // A new connection now (hello with the current token), unless offline or closed.
  #reconnect(reason) {
    if (!this.#closed && !this.#offline && this.#core.loaded) this.#transport.reconnect(reason);
  }

  // The welcomed session: now, or once connected (up to connectTimeoutMs), else 'offline'.
  #whenOnline() {
    if (this.#session?.welcomed) return Promise.resolve(this.#session);
    // the browser says it has no network: no connection is coming, so no waiting connectTimeoutMs for one
    if (this.#closed || this.#offline || this.#browserOffline) return Promise.reject(offlineError());
    return new Promise((resolve, reject) => {
      const waiter = (error) => {
        clearTimeout(timer);
        stop();
        this.#waiting.delete(waiter);
        reject(error);
      };
      this.#waiting.add(waiter); // close() and offline(true) end the wait at once
      const timer = setTimeout(() => waiter(offlineError(`could not connect within ${this.#connectTimeoutMs} ms`)),
        this.#connectTimeoutMs);
      const stop = this.#events.on('connect', () => {
        // a listener before this one closed the client, went offline or logged out: no session now
        if (!this.#session?.welcomed) return;
        this.#waiting.delete(waiter);
        clearTimeout(timer);
        stop();
        resolve(this.#session);
      });
    });
  }

  async #signIn(type, username, password) {
    const problem = credentialsProblem(username, password);
    if (problem) throw new SynclineError('bad_request', problem);
    await this.ready;
    let session = await this.#whenOnline();
    // ended before the request could go (a connect listener logged out, and the client is
    // reconnecting): it goes on the next connection
    while (session !== this.#session) session = await this.#whenOnline();
    const record = await session.signIn(type, username, password);
    await this.#core.flushed(); // the token is stored: a reload stays signed in
    return record.user;
  }

  /**
   * Signs in on the live connection (waiting up to connectTimeoutMs for one). Resolves to the
   * user {id, roles}; rejects with a SynclineError whose code is the server's
   * ('unauthenticated', 'rate_limited' with retryAfterMs, …) or 'offline'. The token is stored
   * and sent on every reconnect. Data held for another user is dropped first, as by logout().
   */
  login(username, password) {
    return this.#signIn('login', username, password);
  }

  /** Creates the user and signs in, like login(). 'forbidden' when the server allows no sign-up. */
  signup(username, password) {
    return this.#signIn('signup', username, password);
  }

  /**
   * Signs out: forgets the token, drops the local copy of every database AND the pending
   * (unsent) edits, which belonged to the signed-out user, and reconnects anonymously. Resolves
   * once the store has forgotten.
   */
  async logout() {
    await this.ready;
    if (this.#closed) return;
    this.#core.signOut();
    this.#reconnect('signed out');
    await this.#core.flushed();
  }

  /** The signed-in user {id, roles}, frozen, or null. */
  get user() {
    return this.#core.user;
  }

  /**
   * Whose data the local copy holds, its pending edits included: the user last signed in here
   * (also after that sign-in ended), or null for anonymous data. Signing in as anyone else drops it.
   */
  get owner() {
    return this.#core.owner;
  }

  #dropped({ code, reason }) {
    const wasOnline = this.#session?.welcomed ?? false;
    this.#session?.close();
    this.#session = null;
    this.#core.setOnline(false);
    if (wasOnline) this.#events.emit('disconnect', { code, reason });
  }

  /** This client's id: the ORIGIN of its timestamps, kept in the store. Null until ready. */
  get clientId() {
    return this.#core.clientId;
  }

  /** {online, pending, synced: {[db]: seq}}: a new frozen object whenever something changes. */
  get status() {
    return this.#core.status;
  }

  /**
   * The documents with local writes the server has not recorded yet, one `{db, col, id}` each
   * (status.pending counts their attributes). It changes when status.pending does: read it again
   * on 'status'.
   */
  unsaved() {
    const replica = this.#core.replica;
    const docs = new Map();
    for (const db of replica.pendingDatabases()) {
      for (const { col, id } of replica.pendingOf(db)) {
        const key = JSON.stringify([db, col, id]);
        if (!docs.has(key)) docs.set(key, Object.freeze({ db, col, id }));
      }
    }
    return Object.freeze([...docs.values()]);
  }

  /**
   * Listens to 'doc:create' | 'doc:update' | 'doc:destroy' | 'doc:record' | 'connect' |
   * 'disconnect' | 'error' | 'status' | 'auth'. Returns a function that stops listening.
   */
  on(event, fn) {
    return this.#events.on(event, fn);
  }

  /** The database `name`; on first use the client subscribes to all of it. */
  db(name) {
    let db = this.#databases.get(name);
    if (!db) {
      if (!isDatabaseName(name)) {
        throw new SynclineError('bad_request', `db: ${JSON.stringify(name)} is not a database name (1 to 64 of [A-Za-z0-9_.-])`);
      }
      db = new Database(this.#inner, name);
      this.#databases.set(name, db);
      this.#session?.subscribe(name);
    }
    return db;
  }

  /**
   * offline(true) closes the connection and stays disconnected; offline(false) connects again
   * at once. Edits keep working either way; they are pushed when back online.
   */
  offline(flag = true) {
    if (this.#closed) return;
    this.#offline = Boolean(flag);
    if (this.#offline) this.#endWaits('the client was set offline');
    if (!this.#core.loaded) return; // ready decides
    if (this.#offline) this.#transport.stop();
    else this.#transport.start();
  }

  // Sign-ins waiting for a connection fail 'offline' now, not when their wait times out.
  #endWaits(why) {
    for (const waiter of [...this.#waiting]) waiter(offlineError(why));
  }

  /**
   * Stops reconnecting and closes the socket. The store keeps everything (pending edits are
   * pushed by the next client on it). Resolves once queued store writes have finished.
   */
  async close() {
    if (this.#closed) return;
    this.#closed = true;
    this.#endWaits('the client closed');
    this.#unfollowBrowserNetwork();
    this.#transport.stop();
    await this.ready.catch(() => {});
    await this.#core.flushed(); // what waits for its write to be told to the other tabs is told
    this.#tabs?.close();
    this.#core.tabs = null;
    await this.#core.store.close();
  }
}
