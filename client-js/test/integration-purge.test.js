// Tombstones purged on the server: a destroyed document's values go from the client too, in
// memory and in its store, once the server says it keeps none of them. The real server jar with a
// retention of three seconds.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, memoryStore } from '../src/index.js';
import { openDatabases, startServer } from './support/server.js';
import { until } from './support/util.js';

let server;
const clients = [];

before(async () => {
  server = await startServer({ config: { databases: openDatabases(['todo']), tombstoneRetentionMs: 3000, purgeIntervalMs: 100 } });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  server?.cleanup();
});

function client(store) {
  const c = createClient({ url: server.url, store, backoffInitialMs: 50, backoffMaxMs: 300 });
  clients.push(c);
  return c;
}

const rowsOf = async (store, id) => (await store.load()).registers.filter((r) => r.id === id).map((r) => r.attr).sort();

describe('integration: purged tombstones', () => {
  it('a destroyed document\'s values, purged on the server, leave a live client and its store; a later edit still brings the document back', async () => {
    const store = memoryStore();
    const c = client(store);
    const col = c.db('todo').col('notes');
    // written online: an edit stamped more than a retention before the server sees it (a slow
    // first connect on a loaded machine) is superseded by the server's purge rule (PROTOCOL §6)
    await until(() => c.status.online, { what: 'online' });
    await col.doc('gone').set({ title: 'secret', body: 'x' });
    await col.doc('kept').set({ title: 'stays' });
    await until(() => c.status.online && c.status.pending === 0, { what: 'the edits acked' });
    await col.doc('gone').destroy();
    await until(() => c.status.pending === 0, { what: 'the destroy acked' });
    assert.equal(col.doc('gone').get(), null);
    // the server purges the values one retention later and commits the $deleted again, marked
    await until(async () => (await rowsOf(store, 'gone')).join() === '$deleted', { what: 'the hidden values to leave the store', timeout: 15000 });
    assert.equal(col.doc('gone').get(), null, 'still hidden');
    assert.deepEqual(col.doc('kept').get(), { id: 'kept', title: 'stays' });
    assert.deepEqual(await rowsOf(store, 'kept'), ['title']);

    // a client started on that store loads no hidden value, and a fresh one gets none
    await c.close();
    const again = client(store);
    const fresh = client(memoryStore());
    for (const x of [again, fresh]) {
      x.db('todo').col('notes'); // subscribes
      await until(() => x.status.synced.todo !== undefined, { what: 'caught up' });
    }
    assert.equal(again.db('todo').col('notes').doc('gone').get(), null);
    assert.deepEqual(await rowsOf(store, 'gone'), ['$deleted']);

    // writing to it again brings it back with only what is new, everywhere
    await again.db('todo').col('notes').doc('gone').set({ title: 'anew' });
    await until(() => fresh.db('todo').col('notes').doc('gone').get()?.title === 'anew', { what: 'the new write to reach the other client' });
    for (const x of [again, fresh]) assert.deepEqual(Object.keys(x.db('todo').col('notes').doc('gone').get()).sort(), ['id', 'title']);
  });
});
