// The server going away under a client: killed (SIGKILL) and restarted on the same data folder
// in the middle of a stream of edits, stopped gracefully (close 1001), and a server whose limits
// are narrower than the defaults. The real server jar, no mocks.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createClient } from '../src/index.js';
import { countingWebSocket } from './support/raw.js';
import { openDatabases, startServer, tempDir } from './support/server.js';
import { recordEvents, sleep, until } from './support/util.js';

const servers = [];
const clients = [];

async function server(options) {
  const s = await startServer(options);
  servers.push(s);
  return s;
}

function client(url, options = {}) {
  const c = createClient({ url, backoffInitialMs: 50, backoffMaxMs: 300, ...options });
  clients.push(c);
  return c;
}

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of servers) await s.stop('SIGKILL');
  for (const s of servers) s.cleanup();
});

const settled = (c) => c.status.online && c.status.pending === 0;

describe('integration: server restarts', () => {
  it('no recorded edit is lost when the server is killed and restarted mid-stream', async () => {
    const data = tempDir();
    const first = await server({ data });
    const writer = client(first.url);
    const recorded = new Map(); // "id/attr" -> ts the server durably recorded
    writer.on('doc:record', (r) => recorded.set(`${r.id}/${r.attr}`, r.ts));
    const col = writer.db('todo').col('stream');
    await until(() => writer.status.online);

    let restarted = null;
    const N = 400;
    for (let i = 0; i < N; i++) {
      const id = `doc-${String(i).padStart(4, '0')}`;
      col.doc(id).set({ n: i, label: `edit ${i}` });
      col.doc('counter').set({ value: i });
      if (i === 150) {
        await until(() => recorded.size > 0, { what: 'some acks before the crash' });
        await first.kill(); // SIGKILL: no goodbye, pushes in flight
        restarted = server({ data, port: first.port }); // same folder, same address
      }
      await sleep(i % 10 === 0 ? 5 : 0);
    }
    await restarted;
    await until(() => settled(writer), { what: 'every edit acked after the restart', timeout: 30000 });
    assert.ok(recorded.size >= 2 * N - 1 - 1, `recorded ${recorded.size}`);

    // A fresh client reads everything back from the restarted server.
    const reader = client((await restarted).url);
    const rcol = reader.db('todo').col('stream');
    await until(() => reader.status.synced.todo !== undefined && rcol.all().length === N + 1, { what: 'the reader to catch up' });
    for (let i = 0; i < N; i++) {
      const doc = rcol.doc(`doc-${String(i).padStart(4, '0')}`).get();
      assert.deepEqual(doc, { id: `doc-${String(i).padStart(4, '0')}`, n: i, label: `edit ${i}` });
    }
    assert.equal(rcol.doc('counter').get().value, N - 1);
    // Every edit the server said it recorded before the crash is there.
    for (const [key, ts] of recorded) {
      const [id] = key.split('/');
      assert.ok(rcol.doc(id).get(), `${key}@${ts} survived`);
    }
    assert.deepEqual(rcol.all(), col.all(), 'writer and reader hold the same documents');
  });

  it('a graceful shutdown (close 1001) is followed by a reconnect, and offline edits go through', async () => {
    const data = tempDir();
    const first = await server({ data });
    const c = client(first.url);
    const log = recordEvents(c);
    c.db('todo');
    await until(() => c.status.synced.todo !== undefined);
    await first.stop('SIGTERM');
    await until(() => !c.status.online, { what: 'the client to notice' });
    const disconnect = log.find((e) => e.name === 'disconnect');
    assert.equal(disconnect.payload.code, 1001);
    await c.db('todo').col('c').doc('during-downtime').set({ v: 1 });
    assert.equal(c.status.pending, 1);
    const second = await server({ data, port: first.port });
    await until(() => settled(c) && c.status.synced.todo !== undefined, { what: 'reconnect and push', timeout: 20000 });
    assert.equal(log.filter((e) => e.name === 'connect').length, 2);
    const reader = client(second.url);
    await until(() => reader.db('todo').col('c').doc('during-downtime').get(), { what: 'the edit on the server' });
  });

  it('a link that stops answering is noticed by ping, and the client reconnects once the server answers again', async () => {
    const s = await server();
    // a timeout well over a GC or JIT pause of a loaded machine, so only the freeze below trips it
    const c = client(s.url, { pingIntervalMs: 200, pingTimeoutMs: 1000, connectTimeoutMs: 1000 });
    const log = recordEvents(c);
    c.db('todo');
    await until(() => c.status.synced.todo !== undefined);
    await sleep(1500); // idle: pings keep the link up
    assert.ok(c.status.online);
    s.pause();
    try {
      await until(() => !c.status.online, { what: 'the dead link to be noticed', timeout: 5000 });
      await c.db('todo').col('c').doc('while-frozen').set({ v: 1 });
    } finally {
      s.resume();
    }
    await until(() => settled(c) && c.status.synced.todo !== undefined, { what: 'reconnect', timeout: 20000 });
    assert.equal(log.filter((e) => e.name === 'connect').length, 2);
  });

  it('a client that only listens, on a busy database, still pings, so the server does not close it as idle', async () => {
    const s = await server({ config: { databases: openDatabases(['todo']), readIdleTimeoutSeconds: 2 } });
    const reader = client(s.url, { pingIntervalMs: 1000 });
    const writer = client(s.url);
    const log = recordEvents(reader);
    reader.db('todo');
    await until(() => reader.status.synced.todo !== undefined);
    // something to hear every 300 ms, for three of the server's idle timeouts
    for (let i = 0; i < 20; i++) {
      await writer.db('todo').col('busy').doc('d').set({ i });
      await sleep(300);
    }
    await until(() => reader.db('todo').col('busy').doc('d').get()?.i === 19, { what: 'the last edit heard' });
    assert.deepEqual(log.filter((e) => e.name === 'disconnect').map((e) => e.payload), [], 'never closed as idle');
  });

  it('pushes refused as overloaded are sent again after retryAfterMs, and nothing is lost', async () => {
    const s = await server({ config: { databases: openDatabases(['todo']), maxQueuedDeltas: 10 } });
    const counter = {};
    const writers = [0, 1, 2, 3].map(() => client(s.url, { WebSocket: countingWebSocket(counter) }));
    const errors = [];
    for (const w of writers) w.on('error', (e) => errors.push(e));
    await until(() => writers.every((w) => w.status.online));
    writers.forEach((w, k) => {
      for (let i = 0; i < 300; i++) w.db('todo').col('load').doc(`w${k}-${i}`).set({ i });
    });
    await until(() => writers.every(settled), { what: 'every writer acked', timeout: 30000 });
    assert.deepEqual(errors, [], 'overloaded is retried quietly');
    assert.ok(counter.frames.includes('error'), `some push was refused as overloaded: ${counter.frames.filter((f) => f === 'error').length}`);
    const reader = client(s.url);
    await until(() => reader.db('todo').col('load').all().length === 1200, { what: 'the reader to see all 1200' });
  });

  it('a delta the server\'s narrower limits would refuse is dropped with an error, and the document reverts', async () => {
    const s = await server({ config: { databases: openDatabases(['todo']), maxValueBytes: 100 } });
    const c = client(s.url, { offline: true });
    await c.ready;
    const log = recordEvents(c);
    const doc = c.db('todo').col('c').doc('x');
    await doc.set({ title: 'short', body: 'x'.repeat(200) }); // fine by the default limits
    assert.equal(doc.get().body.length, 200);
    c.offline(false);
    await until(() => settled(c), { what: 'the queue to empty' });
    const errors = log.filter((e) => e.name === 'error').map((e) => e.payload);
    assert.deepEqual(errors.map((e) => [e.code, e.db, e.col, e.id, e.attr]), [['too_large', 'todo', 'c', 'x', 'body']]);
    assert.deepEqual(doc.get(), { id: 'x', title: 'short' });
    assert.deepEqual(log.filter((e) => e.name === 'doc:update').map((e) => e.payload.local), [false]);
    assert.deepEqual(log.filter((e) => e.name === 'doc:record').map((e) => e.payload.attr), ['title']);
    // And set() itself now refuses such a value.
    await assert.rejects(doc.set({ body: 'x'.repeat(200) }), { code: 'too_large' });
  });
});
