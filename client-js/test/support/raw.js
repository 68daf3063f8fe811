// A bare protocol connection for what the SDK does not do (admin ops), and a WebSocket that
// counts the deltas the server sends, for checking that a client catches up from its cursor.

import { WebSocket } from 'ws';
import { ADMIN_PASSWORD } from './server.js';

/**
 * Sends one admin op on its own connection, signed in as `admin` (ADMIN_PASSWORD); resolves to
 * result.data, rejects on error.
 */
export async function admin(url, op, args = {}) {
  const ws = new WebSocket(url);
  try {
    const replies = [];
    let wake = null;
    ws.on('message', (data) => {
      replies.push(JSON.parse(data.toString()));
      wake?.();
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const next = async (type) => {
      for (;;) {
        const i = replies.findIndex((m) => m.type === type || m.type === 'error');
        if (i >= 0) {
          const [m] = replies.splice(i, 1);
          if (m.type === 'error') throw new Error(`${op}: ${m.code}: ${m.message}`);
          return m;
        }
        await new Promise((resolve) => { wake = resolve; });
      }
    };
    ws.send(JSON.stringify({ type: 'hello', rid: 0, protocol: 1, clientId: 'test-admin' }));
    await next('welcome');
    ws.send(JSON.stringify({ type: 'login', rid: 1, username: 'admin', password: ADMIN_PASSWORD }));
    await next('token');
    ws.send(JSON.stringify({ type: 'admin', rid: 2, op, args }));
    return (await next('result')).data;
  } finally {
    ws.close();
  }
}

/**
 * A WebSocket class (for createClient's WebSocket option) that counts received deltas in
 * `counter.deltas`, lists received types in `counter.frames`, and lists the requests whose answer
 * was an error in `counter.refused` ({type, code}).
 */
export function countingWebSocket(counter) {
  counter.deltas ??= 0;
  counter.frames ??= [];
  counter.refused ??= [];
  return class CountingWebSocket extends WebSocket {
    #sent = new Map(); // rid -> type
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (event) => {
        const m = JSON.parse(event.data);
        counter.frames.push(m.type);
        if (m.type === 'changes') counter.deltas += m.deltas.length;
        if (m.type === 'error' && this.#sent.has(m.rid)) counter.refused.push({ type: this.#sent.get(m.rid), code: m.code });
      });
    }

    send(data, ...rest) {
      const m = JSON.parse(data);
      if (m.rid != null) this.#sent.set(m.rid, m.type);
      return super.send(data, ...rest);
    }
  };
}
