// A client that speaks the protocol itself (PROTOCOL.md §7 to §11) over `ws`, for the admin page's
// test: it signs in, subscribes, pushes with its own clock, and records every message the server
// sends, so the test can wait for one and check exactly what arrived (a reset, an empty catch-up).

import { WebSocket } from 'ws';
import { Clock } from '../../../../client-js/src/hlc.js';

const DEADLINE_MS = 5_000;

export class ProtocolClient {
  #ws;
  #clock;
  #rid = 0;
  #received = [];
  #read = 0; // next() looks from here on
  #mark = 0; // since() returns what came from here on
  #wake = new Set();

  constructor(url, clientId) {
    this.#clock = new Clock(clientId);
    this.#ws = new WebSocket(url);
    this.opened = new Promise((resolve, reject) => {
      this.#ws.once('open', resolve);
      this.#ws.once('error', reject);
    });
    /** The close code, once the connection is closed. */
    this.closed = new Promise((resolve) => this.#ws.once('close', (code) => resolve(code)));
    this.#ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'changes') m.deltas.forEach((d) => this.#clock.receive(d.ts));
      this.#received.push(m);
      for (const wake of this.#wake) wake();
    });
  }

  /** A connection that said hello and signed in as `username`; rejects with the server's refusal. */
  static async signIn(url, clientId, { username, password }) {
    const client = new ProtocolClient(url, clientId);
    await client.opened;
    await client.request({ type: 'hello', protocol: 1, clientId });
    const answer = await client.request({ type: 'login', username, password });
    if (answer.type !== 'token') {
      client.close();
      throw new Error(`${username} could not sign in: ${answer.code}: ${answer.message}`);
    }
    return client;
  }

  /** Subscribes to all of `db` and waits until caught up. */
  async subscribe(db) {
    const answer = await this.request({ type: 'sub', db });
    if (answer.type !== 'subscribed') throw new Error(`sub ${db}: ${answer.code}: ${answer.message}`);
    await this.next((m) => m.type === 'synced' && m.sid === answer.sid);
  }

  /** Pushes {col, id, attr, value} deltas, stamped now; resolves to the ack. */
  push(db, deltas) {
    return this.request({ type: 'push', db, deltas: deltas.map((d) => ({ ...d, ts: this.#clock.tick(Date.now()) })) });
  }

  /** A ping answered: what the server sent before its pong has arrived. */
  ping() {
    return this.request({ type: 'ping' });
  }

  /** Sends a request and resolves to the answer with its rid, whatever its type (an error too). */
  async request(message) {
    const rid = ++this.#rid;
    this.#ws.send(JSON.stringify({ ...message, rid }));
    return this.#find((m) => m.rid === rid, `the answer to ${message.type}`, 0);
  }

  /** The next message (after the last one taken this way) that matches. */
  next(matches) {
    return this.#find(matches, `a message matching ${matches}`);
  }

  /** The next delta (in `changes`, after the last message taken) that matches. */
  async nextDelta(matches) {
    const frame = await this.next((m) => m.type === 'changes' && m.deltas.some(matches));
    return frame.deltas.findLast(matches);
  }

  /** From now on, since() and next() see only what arrives after this. */
  mark() {
    this.#mark = this.#read = this.#received.length;
  }

  since() {
    return this.#received.slice(this.#mark);
  }

  close() {
    this.#ws.close();
  }

  /** Waits for a message that matches, from `from` (default: where next() left off), for at most DEADLINE_MS. */
  async #find(matches, what, from = null) {
    const end = Date.now() + DEADLINE_MS;
    for (;;) {
      const start = from ?? this.#read;
      const i = this.#received.findIndex((m, index) => index >= start && matches(m));
      if (i >= 0) {
        if (from === null) this.#read = i + 1;
        return this.#received[i];
      }
      const left = end - Date.now();
      if (left <= 0) throw new Error(`Timed out waiting for ${what}; received ${JSON.stringify(this.#received.slice(-5))}`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        const wake = () => {
          clearTimeout(timer);
          this.#wake.delete(wake);
          resolve();
        };
        this.#wake.add(wake);
      });
    }
  }
}
