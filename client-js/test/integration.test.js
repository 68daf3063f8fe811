// Clients against the real server jar (started here on a free port, with a temporary data
// folder): convergence, offline edits, catching up from a stored cursor, clock skew, tabs,
// resets and destroyed databases.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createClient, indexedDbStore, memoryStore } from '../src/index.js';
import { admin, countingWebSocket } from './support/raw.js';
import { OPEN_POLICY, openDatabases, startServer } from './support/server.js';
import { recordEvents, sleep, until } from './support/util.js';

const DATABASES = ['todo', 'offline', 'resume', 'skew', 'tabs', 'resetdb', 'gone'];

let server;
const clients = [];

function client(options = {}) {
  const c = createClient({ url: server.url, backoffInitialMs: 50, backoffMaxMs: 500, ...options });
  clients.push(c);
  return c;
}

const syncedTo = (c, db) => c.status.online && c.status.synced[db] !== undefined;
const settled = (c) => c.status.online && c.status.pending === 0;

before(async () => {
  server = await startServer({ config: { databases: openDatabases(DATABASES) } });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  server?.cleanup();
});

describe('integration', () => {
  it('two clients converge; status goes online, pending after an edit, then back to 0', async () => {
    const a = client();
    const b = client();
    const statuses = [];
    a.on('status', (s) => statuses.push(s));
    const logA = recordEvents(a);
    const logB = recordEvents(b);
    const colA = a.db('todo').col('groceries');
    const colB = b.db('todo').col('groceries');
    await until(() => syncedTo(a, 'todo') && syncedTo(b, 'todo'), { what: 'both clients synced' });

    const doc = colA.doc();
    const written = doc.set({ title: 'Buy milk', done: false });
    assert.equal(a.status.pending, 2, 'yellow: pending right after the edit');
    await written;
    await until(() => settled(a), { what: 'a acked' });
    await until(() => colB.doc(doc.id).get(), { what: 'b to see the doc' });
    assert.deepEqual(colB.doc(doc.id).get(), { id: doc.id, title: 'Buy milk', done: false });
    assert.ok(statuses.some((s) => s.online && s.pending === 2));
    assert.deepEqual(a.status, { online: true, pending: 0, synced: a.status.synced });

    await colB.doc(doc.id).set({ done: true });
    await until(() => colA.doc(doc.id).get()?.done === true, { what: 'a to see b\'s edit' });
    await colB.doc(doc.id).destroy();
    await until(() => colA.doc(doc.id).get() === null, { what: 'a to see the destroy' });
    await until(() => settled(b));
    assert.deepEqual(colA.all(), colB.all());

    const records = logA.filter((e) => e.name === 'doc:record').map((e) => [e.payload.attr, e.payload.result]);
    assert.deepEqual(records.sort(), [['done', 'applied'], ['title', 'applied']]);
    const kinds = (log) => log.filter((e) => e.name.startsWith('doc:') && e.name !== 'doc:record' && e.payload.id === doc.id)
      .map((e) => `${e.name}/${e.payload.local}`);
    assert.deepEqual(kinds(logA), ['doc:create/true', 'doc:update/false', 'doc:destroy/false']);
    assert.deepEqual(kinds(logB), ['doc:create/false', 'doc:update/true', 'doc:destroy/true']);
    assert.deepEqual(logA.filter((e) => e.name === 'error'), []);
  });

  it('status fires only when online, pending or synced changed: connect, edits, acks, remote changes, reconnect', async () => {
    const a = client();
    const b = client();
    const statuses = [];
    let last = a.status;
    a.on('status', (s) => {
      assert.ok(!isDeepStrictEqual(s, last), `a status event with nothing changed: ${JSON.stringify(s)}`);
      assert.equal(s, a.status);
      statuses.push(s);
      last = s;
    });
    const colA = a.db('todo').col('status');
    const colB = b.db('todo').col('status');
    await until(() => syncedTo(a, 'todo') && syncedTo(b, 'todo'), { what: 'both clients synced' });
    const doc = colA.doc();
    for (let i = 0; i < 5; i++) await doc.set({ title: `edit ${i}` }); // one attribute: pending stays 1
    await until(() => settled(a), { what: 'a acked' });
    for (let i = 0; i < 5; i++) await colB.doc(`b${i}`).set({ title: `from b ${i}` });
    await until(() => colA.all().length === 6 && settled(b), { what: 'a to see b\'s docs' });
    a.offline(true);
    a.offline(true);
    await doc.set({ completed: true });
    a.offline(false);
    await until(() => settled(a) && syncedTo(a, 'todo'), { what: 'a back and acked' });
    await sleep(100); // anything late would come now
    assert.ok(statuses.length >= 6, `statuses: ${JSON.stringify(statuses)}`);
    assert.ok(statuses.some((s) => !s.online && s.pending === 1), 'offline with the edit pending');
  });

  it('edits made offline on both sides converge per attribute when back online', async () => {
    const a = client();
    const b = client();
    const colA = a.db('offline').col('todos');
    const colB = b.db('offline').col('todos');
    await colA.doc('t1').set({ title: 'start', done: false, note: 'n0' });
    // b can hear of t1 before a hears its ack; a's pending count below assumes the ack came.
    await until(() => colB.doc('t1').get() && settled(a), { what: 'b to see t1 and a to be acked' });

    a.offline(true);
    b.offline(true);
    await until(() => !a.status.online && !b.status.online);
    await colA.doc('t1').set({ title: 'renamed by a', note: 'from a' });
    await colA.doc('t2').set({ title: 'new on a' });
    await sleep(20); // b's edit of `note` is later, so it wins that attribute
    await colB.doc('t1').set({ done: true, note: 'from b' });
    await colB.doc('t2').set({ done: true }); // b never saw t2: its attribute merges in
    assert.equal(colA.doc('t1').get().note, 'from a', 'offline, each sees only its own edits');
    assert.equal(a.status.pending, 3);

    a.offline(false);
    b.offline(false);
    const expected = [
      { id: 't1', title: 'renamed by a', done: true, note: 'from b' },
      { id: 't2', title: 'new on a', done: true },
    ];
    await until(() => settled(a) && settled(b) && isDeepStrictEqual(colA.all(), expected) && isDeepStrictEqual(colB.all(), expected), {
      what: 'both to converge',
      detail: () => JSON.stringify({ a: [a.status, colA.all()], b: [b.status, colB.all()] }),
    });
  });

  it('a client restarted from its IndexedDB store resumes from its cursor instead of pulling everything', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('resume-app', { indexedDB: factory, IDBKeyRange });
    const writer = client();
    const wcol = writer.db('resume').col('items');
    for (let i = 0; i < 300; i++) wcol.doc(`item-${String(i).padStart(3, '0')}`).set({ n: i, label: `item ${i}` });
    await until(() => settled(writer), { what: 'the writer acked', timeout: 30000 });

    const first = {};
    const r1 = client({ store: store(), WebSocket: countingWebSocket(first) });
    r1.db('resume');
    await until(() => syncedTo(r1, 'resume') && r1.db('resume').col('items').all().length === 300, { what: 'r1 synced' });
    assert.equal(first.deltas, 600);
    await r1.close();

    for (let i = 0; i < 5; i++) await wcol.doc(`item-${String(i).padStart(3, '0')}`).set({ label: `changed ${i}` });
    await until(() => settled(writer));

    const second = {};
    const r2 = client({ store: store(), WebSocket: countingWebSocket(second), offline: true });
    await r2.ready;
    const col = r2.db('resume').col('items');
    assert.equal(col.all().length, 300, 'everything is there before connecting');
    r2.offline(false);
    await until(() => syncedTo(r2, 'resume') && col.doc('item-004').get().label === 'changed 4', { what: 'r2 caught up' });
    assert.equal(second.deltas, 5, 'only the changes after the stored cursor came');
    assert.equal(col.doc('item-000').get().label, 'changed 0');
    assert.equal(col.doc('item-299').get().label, 'item 299');
  });

  it('a client whose clock is an hour ahead gets clock_skew, re-stamps and is recorded', async () => {
    const ahead = client({ offline: true, now: () => Date.now() + 3_600_000 });
    await ahead.ready;
    const log = recordEvents(ahead);
    await ahead.db('skew').col('c').doc('x').set({ v: 'written with a fast clock' });
    ahead.offline(false);
    await until(() => log.some((e) => e.name === 'doc:record'), { what: 'the delta to be recorded' });
    const record = log.find((e) => e.name === 'doc:record').payload;
    assert.equal(record.result, 'applied');
    assert.ok(Number(record.ts.slice(0, 13)) <= Date.now() + 60000, `re-stamped near the server clock: ${record.ts}`);
    assert.deepEqual(log.filter((e) => e.name === 'error'), []);
    // Its later writes are accepted directly.
    await ahead.db('skew').col('c').doc('y').set({ v: 2 });
    await until(() => settled(ahead));
    const reader = client();
    await until(() => reader.db('skew').col('c').all().length === 2, { what: 'a reader to see both' });
  });

  it('after clock_skew sets the clock back, a new edit of an attribute still held with a later stamp wins over it', async () => {
    const ahead = client({ offline: true, now: () => Date.now() + 600_000 });
    await ahead.ready;
    const log = recordEvents(ahead);
    // 'skew-later' does not exist on the server: its edit stays pending, stamped ten minutes ahead
    const held = ahead.db('skew-later').col('c').doc('d');
    await held.set({ v: 1 });
    await ahead.db('skew').col('c').doc('back').set({ v: 1 });
    ahead.offline(false);
    await until(() => log.some((e) => e.name === 'doc:record' && e.payload.id === 'back'), { what: 'the skewed edit re-stamped and recorded' });
    await held.set({ v: 2 });
    assert.equal(held.get()?.v, 2, 'the new edit shows');
  });

  it('two tabs on one store: the connected tab pushes the offline tab\'s edit, and both hear of changes', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('tabs-app', { indexedDB: factory, IDBKeyRange });
    const tab1 = client({ store: store() });
    const tab2 = client({ store: store(), offline: true });
    await tab1.ready;
    await tab2.ready;
    tab1.db('tabs');
    const log2 = recordEvents(tab2);
    await until(() => syncedTo(tab1, 'tabs'));

    await tab2.db('tabs').col('c').doc('from-tab2').set({ t: 1 });
    await until(() => log2.some((e) => e.name === 'doc:record'), { what: 'tab 2 to hear its edit was recorded' });
    assert.equal(tab2.status.pending, 0);
    assert.equal(tab1.status.pending, 0);

    const other = client();
    await other.db('tabs').col('c').doc('from-elsewhere').set({ t: 2 });
    await until(() => tab2.db('tabs').col('c').doc('from-elsewhere').get(), { what: 'tab 2 to see a remote change through tab 1' });
    assert.deepEqual(log2.filter((e) => e.name === 'doc:create').map((e) => [e.payload.id, e.payload.local]),
      [['from-tab2', true], ['from-elsewhere', false]]);
  });

  it('a database destroyed and created again: the client gets a reset, drops its old copy and keeps its unsent edits', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('reset-app', { indexedDB: factory, IDBKeyRange });
    const writer = client();
    await writer.db('resetdb').col('c').doc('old').set({ v: 'before' });
    await until(() => settled(writer));
    const first = client({ store: store() });
    await until(() => first.db('resetdb').col('c').doc('old').get(), { what: 'the first copy' });
    await first.close();

    await admin(server.url, 'db.destroy', { db: 'resetdb' });
    await admin(server.url, 'db.create', { db: 'resetdb', policy: OPEN_POLICY });
    const writer2 = client();
    await writer2.db('resetdb').col('c').doc('new').set({ v: 'after' });
    await until(() => settled(writer2));

    const seen = {};
    const again = client({ store: store(), offline: true, WebSocket: countingWebSocket(seen) });
    await again.ready;
    const col = again.db('resetdb').col('c');
    assert.ok(col.doc('old').get(), 'the old copy is still there offline');
    await col.doc('mine').set({ v: 'unsent' });
    const log = recordEvents(again);
    again.offline(false);
    await until(() => settled(again) && col.all().length === 2 && syncedTo(again, 'resetdb'), { what: 'the reset to finish' });
    assert.deepEqual(col.all().map((d) => d.id), ['mine', 'new']);
    assert.ok(seen.frames.includes('reset'), 'the server sent reset');
    assert.deepEqual(log.filter((e) => e.name === 'doc:destroy').map((e) => e.payload.id), ['old']);
    const reader = client();
    await until(() => reader.db('resetdb').col('c').all().length === 2, { what: 'the unsent edit on the server' });

    // And a restart after the reset resumes from the new life of the database.
    await again.close();
    const counter = {};
    const third = client({ store: store(), WebSocket: countingWebSocket(counter) });
    third.db('resetdb');
    await until(() => syncedTo(third, 'resetdb'), { what: 'the third to sync' });
    assert.equal(counter.deltas, 0);
    assert.ok(!counter.frames.includes('reset'));
    assert.deepEqual(third.db('resetdb').col('c').all().map((d) => d.id), ['mine', 'new']);
  });

  it('an offline edit made before its database was destroyed is answered superseded and not kept as the server\'s', async () => {
    await admin(server.url, 'db.create', { db: 'olddb', policy: OPEN_POLICY });
    const a = client({ offline: true }); // never connected: no cursor, so no reset comes
    await a.ready;
    await a.db('olddb').col('c').doc('x').set({ v: 'draft' });
    await sleep(5); // the destroy is stamped after the edit
    await admin(server.url, 'db.destroy', { db: 'olddb' });
    await admin(server.url, 'db.create', { db: 'olddb', policy: OPEN_POLICY });
    const log = recordEvents(a);
    a.offline(false);
    await until(() => settled(a) && syncedTo(a, 'olddb'), { what: 'the edit to be answered' });
    assert.deepEqual(log.filter((e) => e.name === 'doc:record').map((e) => e.payload.result), ['superseded']);
    assert.equal(a.db('olddb').col('c').doc('x').get() ?? null, null, 'the server holds no x; neither does this replica');
    const b = client();
    b.db('olddb');
    await until(() => syncedTo(b, 'olddb'));
    assert.equal(b.db('olddb').col('c').doc('x').get() ?? null, null);
  });

  it('edits queued offline under one clientId are pushed after the app starts with another', async () => {
    const store = memoryStore();
    const before = client({ store, clientId: 'dev-1', offline: true });
    await before.ready;
    await before.db('todo').col('c').doc('queued').set({ v: 'offline' });
    await before.close();
    const after = client({ store, clientId: 'dev-2' });
    const log = recordEvents(after);
    after.db('todo');
    await until(() => settled(after) && syncedTo(after, 'todo'), { what: 'the queued edit answered' });
    assert.deepEqual(log.filter((e) => e.name === 'error').map((e) => e.payload.code), []);
    assert.deepEqual(log.filter((e) => e.name === 'doc:record').map((e) => [e.payload.id, e.payload.ts.slice(19)]), [['queued', 'dev-2']]);
    const reader = client();
    await until(() => reader.db('todo').col('c').doc('queued').get()?.v === 'offline', { what: 'the edit on the server' });
  });

  it('under a new clientId, a queued edit the server already has (its ack stored, its leaving the queue not) is dropped, not stamped again over a newer write', async () => {
    const store = memoryStore();
    const before = client({ store, clientId: 'dev-1' });
    await before.db('todo').col('c').doc('landed').set({ v: 'old' });
    await until(() => settled(before), { what: 'the edit acked' });
    const landed = (await store.load()).registers.find((r) => r.id === 'landed' && r.attr === 'v');
    await before.close();
    // the app was killed after storing the ack and before taking the edit off the queue
    await store.write({ registers: [], pendingPut: [landed] });
    const other = client();
    await other.db('todo').col('c').doc('landed').set({ v: 'newer' });
    await until(() => settled(other), { what: 'the newer write acked' });
    const after = client({ store, clientId: 'dev-2' });
    await after.ready;
    assert.equal(after.status.pending, 0, 'the landed edit left the queue');
    await until(() => after.db('todo').col('c').doc('landed').get()?.v === 'newer', { what: 'the newer write' });
    await until(() => settled(after));
    const reader = client();
    reader.db('todo');
    await until(() => syncedTo(reader, 'todo') && reader.db('todo').col('c').doc('landed').get() != null, { what: 'the reader synced' });
    assert.equal(reader.db('todo').col('c').doc('landed').get().v, 'newer', 'not overwritten on the server');
  });

  it('data held without a cursor (writes acked before the first synced) gives way to the database as it is: one made again since', async () => {
    await admin(server.url, 'db.create', { db: 'nocursor', policy: OPEN_POLICY });
    const writer = client();
    await writer.db('nocursor').col('c').doc('new').set({ v: 'second life' });
    await until(() => settled(writer), { what: 'the second life written' });
    // an acked write of the database's first life, held with no cursor yet (the sub never synced)
    const store = memoryStore();
    await store.write({ registers: [{ db: 'nocursor', col: 'c', id: 'old', attr: 'v', value: 'first life', ts: `${Date.now() - 60_000}-0000-dev-x` }] });
    const c = client({ store });
    const col = c.db('nocursor').col('c');
    await until(() => syncedTo(c, 'nocursor') && col.all().length === 1 && col.all()[0].id === 'new',
      { what: 'the old life replaced', detail: () => JSON.stringify(col.all()) });
    assert.deepEqual((await store.load()).registers.map((r) => r.id), ['new'], 'and in the store');
  });

  it('a database destroyed and created again while subscribed is followed again on the same connection', async () => {
    await admin(server.url, 'db.create', { db: 'reborn', policy: OPEN_POLICY });
    const seen = {};
    const c = client({ WebSocket: countingWebSocket(seen) });
    const log = recordEvents(c);
    const col = c.db('reborn').col('c');
    await col.doc('old').set({ v: 'first life' });
    await until(() => settled(c) && syncedTo(c, 'reborn'), { what: 'the first life synced' });
    const connects = log.filter((e) => e.name === 'connect').length;

    await admin(server.url, 'db.destroy', { db: 'reborn' });
    await until(() => !syncedTo(c, 'reborn'), { what: 'synced to drop the destroyed database', detail: () => JSON.stringify(c.status) });
    await col.doc('mine').set({ v: 'while gone' }); // its push is refused not_found: kept, sent later
    await until(() => seen.refused.some((r) => r.type === 'push' && r.code === 'not_found'), { what: 'the push refused' });
    await admin(server.url, 'db.create', { db: 'reborn', policy: OPEN_POLICY });
    const writer = client();
    await writer.db('reborn').col('c').doc('new').set({ v: 'second life' });
    await until(() => settled(writer));

    await until(() => settled(c) && syncedTo(c, 'reborn') && col.all().length === 2,
      { what: 'the second life synced', detail: () => JSON.stringify([c.status, col.all()]) });
    assert.deepEqual(col.all().map((d) => d.id), ['mine', 'new'], 'the first life is gone, the edit made meanwhile kept');
    assert.equal(log.filter((e) => e.name === 'connect').length, connects, 'on the same connection');
    assert.deepEqual(log.filter((e) => e.name === 'error').map((e) => e.payload.code), ['not_found'], 'reported once');
    const reader = client();
    await until(() => reader.db('reborn').col('c').doc('mine').get()?.v === 'while gone', { what: 'the edit made while gone on the server' });
  });

  it('edits queued for a database that does not exist, and that this run does not open, are pushed once it is created', async () => {
    const store = memoryStore();
    const before = client({ store, offline: true });
    await before.ready;
    await before.db('notyet').col('c').doc('x').set({ v: 'queued' });
    await before.close();
    const seen = {};
    const after = client({ store, WebSocket: countingWebSocket(seen) }); // never calls db('notyet'): no subscription
    const log = recordEvents(after);
    await until(() => seen.refused.some((r) => r.type === 'push' && r.code === 'not_found'), { what: 'the push refused' });
    await admin(server.url, 'db.create', { db: 'notyet', policy: OPEN_POLICY });
    await until(() => settled(after), { what: 'the queued edit pushed again and applied', detail: () => JSON.stringify(after.status) });
    assert.deepEqual(log.filter((e) => e.name === 'error').map((e) => e.payload.code), ['not_found'], 'reported once');
    const reader = client();
    await until(() => reader.db('notyet').col('c').doc('x').get()?.v === 'queued', { what: 'the edit on the server' });
  });

  it('a database destroyed while subscribed, or one that does not exist, is reported as not_found', async () => {
    const c = client();
    const log = recordEvents(c);
    c.db('gone');
    await until(() => syncedTo(c, 'gone'));
    await admin(server.url, 'db.destroy', { db: 'gone' });
    await until(() => log.some((e) => e.name === 'error'), { what: 'the error' });
    assert.deepEqual(log.filter((e) => e.name === 'error').map((e) => [e.payload.code, e.payload.db]), [['not_found', 'gone']]);

    c.db('never-created');
    await until(() => log.filter((e) => e.name === 'error').length === 2, { what: 'the second error' });
    assert.deepEqual(log.filter((e) => e.name === 'error')[1].payload.db, 'never-created');
  });
});
