// The page's one WebSocket to /sync (PROTOCOL.md): hello, sign-in with `login` (or the token kept
// for this browser tab), then admin ops, subscriptions and pushes over the same socket. Pushes are
// ordinary client writes stamped by this page's own clock, so the server merges, checks and fans
// them out like any other edit. The SDK supplies the protocol's pieces: the codec and the clock.
//
// When the socket drops, the connection comes back by itself (with the token, after a growing
// pause) and subscribes again from scratch; each subscriber is told to start over first. While
// online, the token is renewed at half of its lifetime, so the sign-in lasts while the tab is open.

import { Clock, decodeServer, encodeClient } from './sdk/index.js';

const TOKEN_KEY = 'syncline-admin-token';
const RECONNECT_MS = [250, 500, 1000, 2000, 5000];
const PING_MS = 25_000; // the server closes a connection that is silent for readIdleTimeoutSeconds (300 by default)
const RENEW_RETRY_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1; // a longer setTimeout fires at once

/** A refusal from the server ({code, message, retryAfterMs?} as in PROTOCOL.md §13), or code 'offline'. */
export class ServerError extends Error {
  constructor(code, message, retryAfterMs) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

export class AdminConnection {
  #url;
  #ws = null;
  #rid = 0;
  #requests = new Map(); // rid -> {resolve, reject}
  #subs = new Set(); // {db, sid, handlers}
  #bySid = new Map();
  #clock;
  #offset = 0; // the server's clock minus ours, from welcome
  #token = null;
  #attempt = 0;
  #closed = false;
  #welcomed = null; // a promise of the current socket's welcome
  #ping = null;
  #renewal = null; // the timer of the next renew
  #listeners = { status: new Set(), lost: new Set() };

  constructor(url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/sync`) {
    this.#url = url;
    // a clientId of its own per page load, so two open pages never stamp the same ts
    this.#clock = new Clock(`admin-page-${crypto.getRandomValues(new Uint32Array(2)).join('').slice(0, 12)}`);
    this.user = null;
    this.serverId = null;
    this.online = false;
  }

  /** The ORIGIN this page writes with (its `hello.clientId`). */
  get clientId() {
    return this.#clock.origin;
  }

  /** The token kept for this tab, or null. */
  static storedToken() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  /** 'status' ({online}) and 'lost' ({message}: the server ended the sign-in — token expired, user disabled). */
  on(event, fn) {
    this.#listeners[event].add(fn);
    return () => this.#listeners[event].delete(fn);
  }

  #emit(event, payload) {
    for (const fn of this.#listeners[event]) fn(payload);
  }

  /** Signs in with a password; resolves to the user {id, roles}. */
  async login(username, password) {
    await this.#connect();
    const answer = await this.#request({ type: 'login', username, password });
    this.#keepToken(answer.token);
    this.user = answer.user;
    this.#armRenewal();
    return answer.user;
  }

  /** Signs in with the token kept for this tab; resolves to the user, or null when there is none or it is refused. */
  async resume() {
    const token = AdminConnection.storedToken();
    if (!token) return null;
    this.#token = token;
    try {
      const welcome = await this.#connect();
      this.user = welcome.user;
      return welcome.user;
    } catch (e) {
      if (e.code !== 'unauthenticated') throw e;
      this.close();
      return null;
    }
  }

  /** Forgets the token and closes the socket for good. */
  close() {
    this.#closed = true;
    clearTimeout(this.#renewal);
    this.#keepToken(null);
    this.#ws?.close(1000, 'signed out');
  }

  #keepToken(token) {
    this.#token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  /** Runs an admin op; resolves to its `data`, rejects with a ServerError. */
  admin(op, args = {}) {
    return this.#request({ type: 'admin', op, args });
  }

  /**
   * Pushes deltas {col, id, attr, value} to `db`, each stamped now by this page's clock. Resolves
   * to the ack's results, one per delta: 'applied', 'superseded', 'duplicate' or {error, message}.
   */
  async push(db, deltas) {
    const now = Date.now() + this.#offset;
    const stamped = deltas.map((d) => ({ ...d, ts: this.#clock.tick(now) }));
    const ack = await this.#request({ type: 'push', db, deltas: stamped });
    return ack.results;
  }

  /**
   * Subscribes to all of `db`. handlers: start() (drop what you hold: everything follows again),
   * changes(deltas), synced(seq), ended(error). Returns a function that unsubscribes.
   */
  subscribe(db, handlers) {
    const sub = { db, sid: null, handlers };
    this.#subs.add(sub);
    if (this.online) this.#sendSub(sub);
    return () => {
      this.#subs.delete(sub);
      if (sub.sid) {
        this.#bySid.delete(sub.sid);
        if (this.online) this.#request({ type: 'unsub', sid: sub.sid }).catch(() => {});
      }
    };
  }

  #sendSub(sub) {
    sub.sid = null;
    sub.handlers.start();
    this.#request({ type: 'sub', db: sub.db }).then((m) => {
      if (!this.#subs.has(sub)) return void this.#request({ type: 'unsub', sid: m.sid }).catch(() => {}); // closed meanwhile
      sub.sid = m.sid;
      this.#bySid.set(m.sid, sub);
    }, (e) => {
      this.#subs.delete(sub);
      sub.handlers.ended(e);
    });
  }

  // ---- the socket ----

  #connect() {
    if (this.#welcomed) return this.#welcomed;
    this.#closed = false;
    this.#welcomed = new Promise((resolve, reject) => {
      const ws = (this.#ws = new WebSocket(this.#url));
      const hello = () => {
        const sent = Date.now();
        this.#request({ type: 'hello', protocol: 1, clientId: this.#clock.origin, token: this.#token }).then((welcome) => {
          this.#offset = welcome.time + (Date.now() - sent) / 2 - Date.now();
          this.serverId = welcome.serverId;
          this.#attempt = 0;
          this.#setOnline(true);
          for (const sub of this.#subs) this.#sendSub(sub);
          resolve(welcome);
        }, (e) => {
          if (e.code === 'overloaded' || e.code === 'rate_limited') {
            // a moment, please (in a cluster: the user is on its way from a peer): hello again on this socket
            setTimeout(() => {
              if (this.#ws === ws && ws.readyState === WebSocket.OPEN) hello();
            }, e.retryAfterMs ?? 1000);
            return;
          }
          // signed in before, refused now that it connects again (the token expired, the password
          // changed, or the server's key did while the socket was down): the sign-in is lost, as
          // when the server ends it on an open socket; retrying with that token would go on for good
          if (e.code === 'unauthenticated' && this.user) this.#lose(e.message);
          reject(e);
        });
      };
      ws.onopen = hello;
      ws.onmessage = (e) => this.#receive(e.data);
      ws.onclose = (e) => {
        this.#welcomed = null;
        this.#bySid.clear();
        for (const req of this.#requests.values()) req.reject(new ServerError('offline', e.reason || 'the connection closed'));
        this.#requests.clear();
        this.#setOnline(false);
        reject(new ServerError('offline', 'could not connect to the server'));
        if (!this.#closed && this.#token) this.#reconnectLater();
      };
    });
    return this.#welcomed;
  }

  #reconnectLater() {
    const delay = RECONNECT_MS[Math.min(this.#attempt, RECONNECT_MS.length - 1)];
    this.#attempt += 1;
    setTimeout(() => {
      if (!this.#closed && !this.#welcomed) this.#connect().catch(() => {});
    }, delay);
  }

  #setOnline(online) {
    if (this.online === online) return;
    this.online = online;
    clearInterval(this.#ping);
    if (online) this.#ping = setInterval(() => this.#request({ type: 'ping' }).catch(() => {}), PING_MS);
    this.#armRenewal();
    this.#emit('status', { online });
  }

  /** Renews the token at half of its lifetime (at once when past it), while online and signed in. */
  #armRenewal(delay) {
    clearTimeout(this.#renewal);
    const claims = this.#token && this.online ? tokenClaims(this.#token) : null;
    if (!claims) return;
    const halfway = (claims.iat + (claims.exp - claims.iat) / 2) * 1000;
    const wait = delay ?? Math.max(0, halfway - (Date.now() + this.#offset));
    // a token of a long lifetime (over 49 days) is looked at again before its halfway point
    this.#renewal = setTimeout(() => (wait > MAX_TIMER_MS ? this.#armRenewal() : this.#renew()), Math.min(wait, MAX_TIMER_MS));
  }

  #renew() {
    this.#request({ type: 'renew' }).then((answer) => {
      this.#keepToken(answer.token);
      this.#armRenewal();
    }, (e) => {
      if (e.code === 'unauthenticated') this.#lose(e.message);
      else if (e.code !== 'offline') this.#armRenewal(RENEW_RETRY_MS); // offline: armed again at the next welcome
    });
  }

  /** The server ended this sign-in (token expired, password changed, user disabled or deleted). */
  #lose(message) {
    this.#keepToken(null);
    this.#closed = true;
    clearTimeout(this.#renewal);
    this.#emit('lost', { message });
  }

  #request(message) {
    if (!this.#ws || this.#ws.readyState !== WebSocket.OPEN) return Promise.reject(new ServerError('offline', 'not connected'));
    // before the welcome, anything but hello would make the server close the socket ("hello first")
    if (message.type !== 'hello' && !this.online) return Promise.reject(new ServerError('offline', 'not connected yet'));
    const rid = ++this.#rid;
    this.#ws.send(encodeClient({ ...message, rid }));
    return new Promise((resolve, reject) => this.#requests.set(rid, { resolve, reject }));
  }

  #receive(text) {
    const m = decodeServer(text);
    if (!m) return;
    if (m.type === 'changes') return this.#changes(m);
    const sub = m.sid != null && m.rid == null ? this.#bySid.get(m.sid) : null;
    if (sub) {
      if (m.type === 'reset') sub.handlers.start();
      else if (m.type === 'synced') sub.handlers.synced(m.seq);
      else if (m.type === 'error') {
        this.#subs.delete(sub);
        this.#bySid.delete(m.sid);
        sub.handlers.ended(new ServerError(m.code, m.message));
      }
      return;
    }
    const req = m.rid != null ? this.#requests.get(m.rid) : null;
    if (req) {
      this.#requests.delete(m.rid);
      if (m.type === 'error') req.reject(new ServerError(m.code, m.message, m.retryAfterMs));
      else req.resolve(m.type === 'result' ? m.data : m);
    } else if (m.type === 'error' && m.code === 'unauthenticated') {
      this.#lose(m.message); // the server closes the socket
    }
  }

  #changes(m) {
    const sub = this.#bySid.get(m.sid);
    if (!sub) return;
    for (const d of m.deltas) this.#clock.receive(d.ts); // the next edit is newer than anything seen
    sub.handlers.changes(m.deltas);
  }
}

/** The claims of a JWT ({iat, exp, …}, in seconds), or null when it has none this page can use. */
function tokenClaims(token) {
  try {
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return Number.isFinite(claims.iat) && Number.isFinite(claims.exp) ? claims : null;
  } catch {
    return null;
  }
}
