// The transport: one WebSocket at a time to the server, reopened with capped exponential
// backoff and jitter when it drops, and pinged so a dead link is noticed. It knows nothing of
// the protocol beyond the ping; frames go up to the handlers as text.

import { encodeClient } from './codec.js';
import { resolveWebSocket } from './websocket.js';

/** How long a final close waits for the server's close frame before the socket is cut. */
const CLOSE_GRACE_MS = 1000;

export const TRANSPORT_DEFAULTS = Object.freeze({
  /** First reconnect delay; doubles on every failed attempt. */
  backoffInitialMs: 250,
  /** Longest reconnect delay. */
  backoffMaxMs: 10000,
  /** How often to ping an open connection. */
  pingIntervalMs: 25000,
  /** How long to wait for any frame after a ping before the link counts as dead. */
  pingTimeoutMs: 10000,
  /** How long a connection may take to open. */
  connectTimeoutMs: 10000,
});

export class Transport {
  #opts;
  #handlers;
  #socket = null;
  /** Sockets that opened: only their end is reported (handlers.close). */
  #opened = new WeakSet();
  #running = false;
  #attempt = 0;
  #timers = new Set();
  #pingTimer = null;
  #welcomed = null; // the socket the server welcomed: before that, only hello may be sent on it
  #deadTimer = null;

  /**
   * @param {{url: string, WebSocket?: any}} opts plus any of TRANSPORT_DEFAULTS
   * @param {{open(): void, message(text: string): void, close(info: {code: number, reason: string}): void,
   *   error(e: Error): void}} handlers open: a socket is open; close: the open socket is gone
   */
  constructor(opts, handlers) {
    this.#opts = { ...TRANSPORT_DEFAULTS, ...opts };
    this.#handlers = handlers;
  }

  get running() {
    return this.#running;
  }

  /** Starts connecting now (and keeps reconnecting until stop()). */
  start() {
    if (this.#running) {
      // waiting out a backoff: go now (offline(false) connects at once)
      if (!this.#socket) {
        for (const t of this.#timers) clearTimeout(t);
        this.#timers.clear();
        this.#attempt = 0;
        this.#connect();
      }
      return;
    }
    this.#running = true;
    this.#attempt = 0;
    this.#connect();
  }

  /** Stops reconnecting and closes the socket. */
  stop() {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#drop(1000, 'client closed', true);
  }

  /** A connection got all the way through the handshake: the next drop starts backoff afresh. */
  connected() {
    this.#attempt = 0;
    this.#welcomed = this.#socket;
  }

  /** Sends one frame; false when there is no open socket. */
  send(text) {
    const s = this.#socket;
    if (!s || s.readyState !== 1) return false;
    s.send(text);
    return true;
  }

  /** Closes the current socket (if any) and connects again at once, backoff reset. */
  reconnect(reason = 'reconnect') {
    if (!this.#running) return;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#drop(1000, reason, true);
    this.#attempt = 0;
    this.#connect();
  }

  /** Closes the current socket (if any) and reconnects after the backoff. */
  restart(code = 4000, reason = 'restart') {
    this.#drop(code, reason, false);
  }

  #later(ms, fn) {
    const t = setTimeout(() => { this.#timers.delete(t); fn(); }, ms);
    this.#timers.add(t);
    return t;
  }

  async #connect() {
    if (!this.#running || this.#socket) return;
    let Ctor;
    try {
      Ctor = await resolveWebSocket(this.#opts.WebSocket);
    } catch (e) {
      this.#handlers.error(e);
      this.#running = false;
      return;
    }
    if (!this.#running || this.#socket) return;
    let socket;
    try {
      socket = new Ctor(this.#opts.url);
    } catch (e) {
      this.#handlers.error(e);
      this.#scheduleReconnect();
      return;
    }
    this.#socket = socket;
    let opened = false;
    const openTimer = this.#later(this.#opts.connectTimeoutMs, () => {
      if (this.#socket === socket && !opened) this.#drop(4000, 'connect timeout', false);
    });
    socket.onopen = () => {
      if (this.#socket !== socket) return;
      opened = true;
      this.#opened.add(socket);
      clearTimeout(openTimer);
      this.#timers.delete(openTimer);
      this.#armPing(socket);
      this.#handlers.open();
    };
    socket.onmessage = (event) => {
      if (this.#socket !== socket) return;
      this.#alive();
      if (typeof event.data === 'string') this.#handlers.message(event.data);
    };
    socket.onerror = () => {}; // a close event follows
    socket.onclose = (event) => {
      if (this.#socket !== socket) return;
      clearTimeout(openTimer);
      this.#timers.delete(openTimer);
      this.#release(socket);
      if (opened) this.#handlers.close({ code: event.code, reason: event.reason ?? '' });
      this.#scheduleReconnect();
    };
  }

  // Closes the socket without waiting for its close event, which on a dead link may take minutes.
  #drop(code, reason, final) {
    const socket = this.#socket;
    if (!socket) return;
    // opened, and not yet reported closed: also while closing (a close handshake under way), whose
    // close event #release turns off, so the session is ended and the client reported offline here
    const wasOpen = this.#opened.has(socket);
    this.#release(socket);
    try {
      if (!final && typeof socket.terminate === 'function') socket.terminate(); // ws in Node: no closing handshake
      else socket.close(code === 1000 || (code >= 3000 && code <= 4999) ? code : 1000, reason);
    } catch {
      // already closing
    }
    if (final && typeof socket.terminate === 'function') {
      // ws waits 30 s for the server's close frame, and on a dead link keeps Node alive that long:
      // a second's grace for the handshake, then the socket is cut (a no-op once closed)
      const cut = setTimeout(() => {
        try {
          socket.terminate();
        } catch {
          // closed meanwhile
        }
      }, CLOSE_GRACE_MS);
      cut.unref?.();
    }
    if (wasOpen) this.#handlers.close({ code, reason });
    if (!final) this.#scheduleReconnect();
  }

  #release(socket) {
    if (this.#socket === socket) this.#socket = null;
    socket.onopen = socket.onmessage = socket.onclose = null;
    socket.onerror = () => {};
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#deadTimer);
    this.#pingTimer = this.#deadTimer = null;
  }

  #scheduleReconnect() {
    if (!this.#running) return;
    const { backoffInitialMs, backoffMaxMs } = this.#opts;
    const cap = Math.min(backoffMaxMs, backoffInitialMs * 2 ** this.#attempt);
    this.#attempt += 1;
    const delay = cap / 2 + Math.random() * (cap / 2); // jitter: spread reconnecting clients out
    this.#later(delay, () => this.#connect());
  }

  // A ping every interval, however busy the link is the other way: the server closes a connection
  // that sends nothing for readIdleTimeoutSeconds, and a client that only listens sends nothing else.
  #armPing(socket) {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(() => {
      if (this.#socket !== socket) return;
      // before the welcome (a hello answered overloaded is said again) a ping would end the
      // connection ("hello first"): none is sent, but a link that brings nothing still counts as dead
      if (this.#welcomed === socket) this.send(encodeClient({ type: 'ping' }));
      if (this.#deadTimer === null) {
        this.#deadTimer = setTimeout(() => {
          if (this.#socket === socket) this.#drop(4000, 'no answer to ping', false);
        }, this.#opts.pingTimeoutMs);
      }
      this.#armPing(socket);
    }, this.#opts.pingIntervalMs);
  }

  // Any frame proves the link alive.
  #alive() {
    clearTimeout(this.#deadTimer);
    this.#deadTimer = null;
  }
}
