// The client without a server: local edits, reads, events, live queries, checks, and restarting
// from a store. (Everything that needs the server is in integration*.test.js.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createClient, indexedDbStore, memoryStore, SynclineError } from '../src/index.js';
import { capturingReports, recordEvents, until } from './support/util.js';
import { fakeServer } from './support/fake-server.js';

// Nothing listens here; the clients below stay offline.
const URL = 'ws://127.0.0.1:9/sync';
const offlineClient = (options = {}) => createClient({ url: URL, offline: true, ...options });

describe('client, offline', () => {
  it('applies an edit at once: get() sees it before the promise settles', async () => {
    const client = offlineClient();
    await client.ready;
    const doc = client.db('todo').col('groceries').doc();
    assert.match(doc.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    const stored = doc.set({ title: 'Buy milk', done: false });
    assert.deepEqual(doc.get(), { id: doc.id, title: 'Buy milk', done: false });
    await stored;
    assert.equal(client.status.pending, 2);
    assert.equal(client.status.online, false);
    await client.close();
  });

  it('an attribute named __proto__ is read back like any other, not taken as the view\'s prototype', async () => {
    const client = offlineClient();
    await client.ready;
    const doc = client.db('todo').col('c').doc('proto');
    await doc.set(JSON.parse('{"__proto__":{"x":1},"title":"t","nested":{"__proto__":2}}'));
    const view = doc.get();
    assert.ok(Object.hasOwn(view, '__proto__'), JSON.stringify(view));
    assert.deepEqual(view.__proto__, { x: 1 });
    assert.equal(Object.getPrototypeOf(view), Object.prototype);
    assert.deepEqual(JSON.parse(JSON.stringify(view)), JSON.parse(`{"id":"proto","__proto__":{"x":1},"title":"t","nested":{"__proto__":2}}`));
    await client.close();
  });

  it('a listener that writes: every listener sees the event it reacted to before the one its write made', async () => {
    const client = offlineClient();
    await client.ready;
    const doc = client.db('todo').col('c').doc('d');
    // the first listener moves every v=1 on to v=2; the second keeps what it saw, as a view would
    client.on('doc:update', ({ doc: after }) => {
      if (after.v === 1) doc.set({ v: 2 });
    });
    const seen = [];
    client.on('doc:create', ({ doc: after }) => seen.push(after.v));
    client.on('doc:update', ({ doc: after }) => seen.push(after.v));
    await doc.set({ v: 0 });
    await doc.set({ v: 1 });
    assert.deepEqual(seen, [0, 1, 2], 'the last event seen is the document as it is');
    assert.equal(doc.get().v, 2);
    await client.close();
  });

  it('set() merges attributes; null removes one; destroy and restore', async () => {
    const client = offlineClient();
    await client.ready;
    const doc = client.db('todo').col('c').doc('known-id');
    assert.equal(doc.get(), null);
    await doc.set({ title: 'a', note: 'n' });
    await doc.set({ done: true, note: null });
    assert.deepEqual(doc.get(), { id: 'known-id', title: 'a', done: true });
    await doc.destroy();
    assert.equal(doc.get(), null);
    assert.deepEqual(client.db('todo').col('c').all(), []);
    await doc.restore();
    assert.deepEqual(doc.get(), { id: 'known-id', title: 'a', done: true });
    await doc.destroy();
    await doc.set({ title: 'b' }); // a write after a destroy brings back only the newer attribute
    assert.deepEqual(doc.get(), { id: 'known-id', title: 'b' });
    await client.close();
  });

  it('all() and find() return visible documents sorted by id', async () => {
    const client = offlineClient();
    await client.ready;
    const col = client.db('todo').col('c');
    await col.doc('b').set({ done: true, tags: ['x'] });
    await col.doc('a').set({ done: false, tags: ['x'] });
    await col.doc('c').set({ done: true });
    await col.doc('d').set({ done: true });
    await col.doc('d').destroy();
    assert.deepEqual(col.all().map((d) => d.id), ['a', 'b', 'c']);
    assert.deepEqual(col.find({ done: true }).map((d) => d.id), ['b', 'c']);
    assert.deepEqual(col.find({ tags: ['x'] }).map((d) => d.id), ['a', 'b']);
    assert.deepEqual(col.find((d) => d.id > 'a').map((d) => d.id), ['b', 'c']);
    assert.ok(Object.isFrozen(col.all()[0]));
    await client.close();
  });

  it('emits doc events with local: true for its own edits', async () => {
    const client = offlineClient();
    await client.ready;
    const log = recordEvents(client);
    const doc = client.db('todo').col('c').doc('x');
    await doc.set({ title: 'a' });
    await doc.set({ title: 'a' }); // a new timestamp but nothing a reader can see changes
    await doc.set({ title: 'b' });
    await doc.destroy();
    assert.deepEqual(log.map((e) => [e.name, e.payload.doc?.title ?? null, e.payload.previous?.title ?? null, e.payload.local]), [
      ['doc:create', 'a', null, true],
      ['doc:update', 'b', 'a', true],
      ['doc:destroy', null, 'b', true],
    ]);
    assert.deepEqual(Object.keys(log[0].payload).sort(), ['col', 'db', 'doc', 'id', 'local', 'previous']);
    await client.close();
  });

  it('live() calls back at once and whenever its result changes', async () => {
    const client = offlineClient();
    await client.ready;
    const col = client.db('todo').col('c');
    await col.doc('a').set({ done: false });
    const calls = [];
    const stop = col.live({ done: false }, (docs) => calls.push(docs.map((d) => d.id)));
    assert.deepEqual(calls, [['a']]);
    await col.doc('b').set({ done: false });
    await col.doc('c').set({ done: true }); // touches the collection, not the result
    await client.db('todo').col('other').doc('z').set({ done: false }); // another collection
    await col.doc('a').set({ done: true });
    assert.deepEqual(calls, [['a'], ['a', 'b'], ['b']]);
    stop();
    await col.doc('d').set({ done: false });
    assert.equal(calls.length, 3);
    await client.close();
  });

  it('a live query whose filter throws is reported and skipped: the edit is kept, stored and queued', async () => {
    await capturingReports(async (reported) => {
      const store = memoryStore();
      const client = offlineClient({ store });
      await client.ready;
      const col = client.db('todo').col('c');
      const calls = [];
      col.live((doc) => doc.title.toLowerCase() === 'x', (docs) => calls.push(docs.length));
      await col.doc('untitled').set({ done: false }); // no title: the filter throws
      assert.equal(reported.length, 1);
      assert.match(String(reported[0]), /TypeError/);
      assert.deepEqual(calls, [0], 'called once, at the start');
      assert.equal(client.status.pending, 1, 'the edit is queued');
      assert.equal((await store.load()).pending.length, 1, 'and stored');
      await client.close();
    });
  });

  it('a live query callback that writes is called again after it returns: its last call has the last result', async () => {
    const client = offlineClient();
    await client.ready;
    const col = client.db('todo').col('c');
    const rendered = [];
    col.live(null, (docs) => {
      if (docs.length === 0) col.doc('defaults').set({ theme: 'light' });
      rendered.push(docs.map((d) => d.id));
    });
    await until(() => rendered.length === 2);
    assert.deepEqual(rendered, [[], ['defaults']]);
    await client.close();
  });

  it('a live query callback that writes something new at every call is stopped after 100 calls in a row, and reported', async () => {
    await capturingReports(async (reported) => {
      const client = offlineClient();
      await client.ready;
      const col = client.db('todo').col('c');
      let calls = 0;
      col.live(null, () => {
        calls += 1;
        col.doc('meta').set({ seen: calls });
      });
      assert.equal(calls, 100);
      assert.equal(reported.length, 1);
      assert.match(reported[0].message, /wrote at each of 100 calls/);
      await client.close();
    });
  });

  it('status changes are events with the same object as client.status', async () => {
    const client = offlineClient();
    await client.ready;
    const seen = [];
    client.on('status', (s) => seen.push(s));
    await client.db('todo').col('c').doc('x').set({ a: 1 });
    assert.equal(seen.length, 1);
    assert.equal(seen[0], client.status);
    assert.deepEqual(seen[0], { online: false, pending: 1, synced: {} });
    await client.close();
  });

  it('refuses what the server would refuse, before changing anything', async () => {
    const client = offlineClient();
    await client.ready;
    const col = client.db('todo').col('c');
    const doc = col.doc('x');
    const refused = async (attrs, code, field) => {
      await assert.rejects(doc.set(attrs), (e) => {
        assert.ok(e instanceof SynclineError);
        assert.equal(e.code, code);
        assert.ok(e.message.startsWith(field), e.message);
        return true;
      });
    };
    await refused({ ok: 1, $owner: 'me' }, 'bad_request', 'attr');
    await refused({ n: NaN }, 'bad_request', 'value');
    await refused({ n: [1, Infinity] }, 'bad_request', 'value');
    await refused({ s: 'a\ud800' }, 'bad_request', 'value');
    await refused({ $deleted: 'yes' }, 'bad_request', 'value');
    await refused({ big: 'x'.repeat(65535) }, 'too_large', 'value');
    await refused({ m: new Map() }, 'bad_request', 'value');
    await refused({ ['a'.repeat(257)]: 1 }, 'bad_request', 'attr');
    let deep = 1;
    for (let i = 0; i < 62; i++) deep = [deep];
    await refused({ deep }, 'bad_request', 'value');
    assert.equal(doc.get(), null);
    assert.equal(client.status.pending, 0);
    assert.throws(() => client.db('my db'), SynclineError);
    assert.throws(() => client.db('$system'), SynclineError);
    assert.throws(() => client.db('todo').col('$c'), SynclineError);
    assert.throws(() => col.doc(''), SynclineError);
    assert.throws(() => col.doc('a\u0000b'), SynclineError);
    assert.throws(() => createClient({ url: URL, clientId: 'has space' }), TypeError);
    // The limits of the protocol are allowed.
    await doc.set({ big: 'x'.repeat(65534), when: new Date(0), skipped: undefined, id: 'ignored' });
    assert.deepEqual(Object.keys(doc.get()).sort(), ['big', 'id', 'when']);
    assert.equal(doc.get().when, '1970-01-01T00:00:00.000Z');
    assert.equal(doc.get().id, 'x');
    await client.close();
  });

  it('values are copied in and frozen: changing the object passed to set() changes nothing', async () => {
    const client = offlineClient();
    await client.ready;
    const doc = client.db('todo').col('c').doc('x');
    const tags = ['a'];
    await doc.set({ tags });
    tags.push('b');
    assert.deepEqual(doc.get().tags, ['a']);
    assert.throws(() => doc.get().tags.push('c'), TypeError);
    await client.close();
  });

  it('unsaved() lists each document with writes not recorded once, however many attributes; also after a restart', async () => {
    const store = memoryStore();
    const first = offlineClient({ store });
    await first.ready;
    assert.deepEqual(first.unsaved(), []);
    const statuses = [];
    first.on('status', () => statuses.push(first.unsaved().length));
    const todo = first.db('todo');
    await todo.col('a').doc('x').set({ title: 'two attributes', completed: false });
    await todo.col('a').doc('x').set({ title: 'a newer title' });
    await todo.col('b').doc('x').set({ title: 'same id, another list' });
    await first.db('other').col('a').doc('y').destroy();
    const expected = [{ db: 'todo', col: 'a', id: 'x' }, { db: 'todo', col: 'b', id: 'x' }, { db: 'other', col: 'a', id: 'y' }];
    const byKey = (list) => [...list].sort((p, q) => JSON.stringify(p).localeCompare(JSON.stringify(q)));
    assert.equal(first.status.pending, 4);
    assert.deepEqual(byKey(first.unsaved()), byKey(expected));
    assert.ok(Object.isFrozen(first.unsaved()) && Object.isFrozen(first.unsaved()[0]));
    assert.deepEqual(statuses, [1, 2, 3], 'read on each status event, it counts the documents so far');
    await first.close();

    const second = offlineClient({ store });
    await second.ready;
    assert.deepEqual(byKey(second.unsaved()), byKey(expected));
    await second.close();
  });

  it('restarting on the same store restores documents, the pending queue, the clientId and the clock', async () => {
    const store = memoryStore();
    const first = offlineClient({ store });
    await first.ready;
    await first.db('todo').col('c').doc('x').set({ title: 'kept' });
    const clientId = first.clientId;
    await first.close();

    const second = offlineClient({ store, now: () => 0 }); // a wall clock far in the past
    await second.ready;
    assert.equal(second.clientId, clientId);
    assert.deepEqual(second.db('todo').col('c').doc('x').get(), { id: 'x', title: 'kept' });
    assert.equal(second.status.pending, 1);
    // The clock does not go back: a new write still wins over the stored one.
    await second.db('todo').col('c').doc('x').set({ title: 'newer' });
    assert.equal(second.db('todo').col('c').doc('x').get().title, 'newer');
    assert.equal(second.status.pending, 1, 'the newer write replaces the queued one');
    await second.close();
  });

  it('an explicit clientId is used and kept', async () => {
    const store = memoryStore();
    const a = offlineClient({ store, clientId: 'device-1' });
    await a.ready;
    assert.equal(a.clientId, 'device-1');
    await a.close();
    const b = offlineClient({ store });
    await b.ready;
    assert.equal(b.clientId, 'device-1');
    await b.close();
  });

  it('live queries registered before the store loaded are first called once it has, not with an empty result before', async () => {
    const store = memoryStore();
    const a = offlineClient({ store });
    await a.ready;
    await a.db('todo').col('c').doc('x').set({ t: 1 });
    await a.close();
    const b = offlineClient({ store });
    const calls = [];
    b.db('todo').col('c').live(null, (docs) => calls.push(docs.length));
    assert.deepEqual(calls, [], 'not called before the load');
    await b.ready;
    assert.deepEqual(calls, [1]);
    await b.close();
  });
});

describe('client on IndexedDB (fake-indexeddb)', () => {
  it('a reload loses nothing: documents and pending edits come back', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('todo-app', { indexedDB: factory, IDBKeyRange });
    const a = offlineClient({ store: store() });
    await a.ready;
    const col = a.db('todo').col('groceries');
    for (let i = 0; i < 20; i++) await col.doc(`d${String(i).padStart(2, '0')}`).set({ n: i });
    await col.doc('d03').destroy();
    await a.close();

    const b = offlineClient({ store: store() });
    await b.ready;
    assert.equal(b.db('todo').col('groceries').all().length, 19);
    assert.equal(b.status.pending, 21, "20 edits and a destroy");
    assert.equal(b.clientId, a.clientId);
    await b.close();
  });

  it('two tabs on one store: each sees the other tab\'s edits at once', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('tabs-app', { indexedDB: factory, IDBKeyRange });
    const tab1 = offlineClient({ store: store() });
    await tab1.ready;
    const tab2 = offlineClient({ store: store() });
    await tab2.ready;
    assert.equal(tab1.clientId, tab2.clientId, 'one store, one clientId');
    const log2 = recordEvents(tab2);
    const calls = [];
    tab2.db('todo').col('c').live(null, (docs) => calls.push(docs.map((d) => d.title)));
    await tab1.db('todo').col('c').doc('x').set({ title: 'from tab 1' });
    await until(() => tab2.db('todo').col('c').doc('x').get(), { what: 'tab 2 to see the edit' });
    assert.deepEqual(calls, [[], ['from tab 1']]);
    assert.deepEqual(log2.map((e) => [e.name, e.payload.local]), [['doc:create', false]]);
    assert.equal(tab2.status.pending, 1, 'tab 2 would push it too if it were the connected one');
    await tab2.db('todo').col('c').doc('x').set({ title: 'from tab 2' });
    await until(() => tab1.db('todo').col('c').doc('x').get().title === 'from tab 2', { what: 'tab 1 to see tab 2' });
    await tab1.close();
    await tab2.close();
    const tab3 = offlineClient({ store: store() });
    await tab3.ready;
    assert.equal(tab3.db('todo').col('c').doc('x').get().title, 'from tab 2');
    assert.equal(tab3.status.pending, 1);
    await tab3.close();
  });

  it('two tabs stamping one attribute with the same timestamp still agree on one value', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('collide-app', { indexedDB: factory, IDBKeyRange });
    const now = () => 1_800_000_000_000; // both wall clocks stand still: both ticks give the same ts
    const tab1 = offlineClient({ store: store(), now });
    const tab2 = offlineClient({ store: store(), now });
    await Promise.all([tab1.ready, tab2.ready]);
    const doc1 = tab1.db('todo').col('c').doc('x');
    const doc2 = tab2.db('todo').col('c').doc('x');
    await Promise.all([doc1.set({ title: 'from tab 1' }), doc2.set({ title: 'from tab 2' })]);
    await until(() => doc1.get().title === doc2.get().title, { what: 'the tabs to agree' });
    assert.equal(doc1.get().title, 'from tab 1', 'the smaller value was stamped again, so it wins');
    await tab1.close();
    await tab2.close();
    const tab3 = offlineClient({ store: store() });
    await tab3.ready;
    assert.equal(tab3.db('todo').col('c').doc('x').get().title, 'from tab 1');
    assert.equal(tab3.status.pending, 1);
    await tab3.close();
  });
});

describe('client, closing', () => {
  it('close() on a dead link cuts the socket after a short grace: ws would keep Node alive 30 s for a close frame', async () => {
    const server = fakeServer();
    const client = createClient({ url: URL, WebSocket: server.WebSocket, backoffInitialMs: 10 });
    await until(() => client.status.online, { what: 'online' });
    const socket = server.socket;
    let terminated = false;
    socket.close = () => {}; // a dead link: the close frame goes nowhere, no close event comes
    socket.terminate = () => { terminated = true; };
    await client.close();
    assert.equal(terminated, false, 'a grace for the closing handshake first');
    await until(() => terminated, { timeout: 3000, what: 'the socket cut' });
  });
});

describe('client, events of one frame', () => {
  it('a listener that writes while a frame is told of: the frame\'s events all come first, then the write\'s', async () => {
    const server = fakeServer();
    const client = createClient({ url: URL, WebSocket: server.WebSocket, backoffInitialMs: 10 });
    try {
      const col = client.db('todo').col('c');
      await until(() => client.status.synced.todo !== undefined, { what: 'todo synced' });
      client.on('doc:create', ({ id, local }) => {
        if (id === 'x' && !local) col.doc('y').set({ v: 'mine' });
      });
      const seen = [];
      for (const type of ['doc:create', 'doc:update']) client.on(type, ({ id, doc }) => id === 'y' && seen.push([type, doc.v]));
      const ts = '1796600000000-0000-srv';
      server.socket.reply({
        type: 'changes', sid: 's1', db: 'todo', seq: 2, deltas: [
          { col: 'c', id: 'x', attr: 'v', value: 'theirs', ts, seq: 1 },
          { col: 'c', id: 'y', attr: 'v', value: 'theirs', ts, seq: 2 },
        ],
      });
      await until(() => seen.length === 2, { what: 'y\'s events' });
      assert.deepEqual(seen, [['doc:create', 'theirs'], ['doc:update', 'mine']], 'the last event is y as it is');
      assert.equal(col.doc('y').get().v, 'mine');
    } finally {
      await client.close();
    }
  });
});

describe('client, two tabs collecting a copy', () => {
  it('an edit acked in another tab while this tab collects a copy is not put back at synced, in either tab', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('tabs-collect', { indexedDB: factory, IDBKeyRange });
    const server = fakeServer();
    const old = `${Date.now() - 100_000}-0000-other`;
    let collecting = null; // tab A's socket, once its subscription collects a copy
    server.handle = (m, socket) => {
      if (m.type === 'sub' && socket.tag === 'A') {
        collecting = socket;
        socket.reply({ type: 'subscribed', rid: m.rid, sid: 'sA', db: m.db, head: 1, epoch: 'e1' });
        socket.reply({ type: 'reset', sid: 'sA', epoch: 'e1' });
        socket.reply({ type: 'changes', sid: 'sA', db: m.db, seq: 1, deltas: [{ col: 'c', id: 'x', attr: 'v', value: 'a', ts: old, seq: 1 }] });
        return undefined;
      }
      if (m.type === 'push' && socket.tag === 'A') return undefined; // A's own push stays in flight
      return server.standard(m, socket);
    };
    const tagged = (tag) => class extends server.WebSocket {
      constructor(url) {
        super(url);
        this.tag = tag;
      }
    };
    const a = createClient({ url: 'ws://x/sync', WebSocket: tagged('A'), store: store() });
    const b = createClient({ url: 'ws://x/sync', WebSocket: tagged('B'), store: store() });
    try {
      await a.ready;
      a.db('todo');
      await until(() => collecting !== null, { what: 'tab A collecting a copy' });
      await b.ready;
      b.db('todo');
      await until(() => b.status.online);
      await b.db('todo').col('c').doc('x').set({ v: 'b' });
      await until(() => b.status.pending === 0 && a.status.pending === 0, { what: 'acked in tab B, settled in tab A' });
      assert.equal(a.db('todo').col('c').doc('x').get().v, 'b');
      collecting.reply({ type: 'synced', sid: 'sA', seq: 1 }); // the edit's changes come after
      await until(() => a.status.synced.todo === 1, { what: 'tab A synced' });
      await until(() => b.db('todo').col('c').doc('x').get()?.v === 'b' && a.db('todo').col('c').doc('x').get()?.v === 'b',
        { timeout: 300, what: 'both tabs keeping b', detail: () => JSON.stringify([a.db('todo').col('c').doc('x').get(), b.db('todo').col('c').doc('x').get()]) });
      await new Promise((resolve) => setTimeout(resolve, 50)); // the swap's message reaches tab B
      assert.deepEqual([a.db('todo').col('c').doc('x').get().v, b.db('todo').col('c').doc('x').get().v], ['b', 'b']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('client, the clock while a copy is being collected', () => {
  it('a change received while a reset\'s copy is being collected moves the clock: an edit made then is stamped after it (PROTOCOL §5)', async () => {
    const server = fakeServer();
    const ahead = `${Date.now() + 30_000}-0000-other`; // within maxClockSkewMs
    server.handle = (m, socket) => {
      if (m.type !== 'sub') return server.standard(m, socket);
      socket.reply({ type: 'subscribed', rid: m.rid, sid: 's1', db: m.db, head: 1, epoch: 'e1' });
      socket.reply({ type: 'reset', sid: 's1', epoch: 'e1' });
      socket.reply({ type: 'changes', sid: 's1', db: m.db, seq: 1, deltas: [{ col: 'c', id: 'd', attr: 'v', value: 1, ts: ahead, seq: 1 }] });
      // no synced: the catch-up goes on. An error with no rid says the page has been read
      socket.reply({ type: 'error', code: 'internal', message: 'page sent' });
      return undefined;
    };
    const c = createClient({ url: 'ws://x/sync', WebSocket: server.WebSocket });
    try {
      const errors = recordEvents(c, ['error']);
      c.db('todo');
      await until(() => errors.length > 0, { what: 'the catch-up page read' });
      await c.db('todo').col('c').doc('d').set({ v: 2 });
      await until(() => server.sent('push').length > 0, { what: 'the edit pushed' });
      const stamped = server.sent('push')[0].deltas[0].ts;
      assert.ok(stamped > ahead, `stamped ${stamped}, not after the received ${ahead}`);
    } finally {
      await c.close();
    }
  });
});

describe('client, values a server purged', () => {
  it('a copy being collected drops the values a $deleted marked valuesPurged hides, also ones sent earlier in the catch-up', async () => {
    const server = fakeServer();
    const t = (ms) => `${String(Date.now() - 100_000 + ms).padStart(13, '0')}-0000-other`;
    server.handle = (m, socket) => {
      if (m.type !== 'sub') return server.standard(m, socket);
      socket.reply({ type: 'subscribed', rid: m.rid, sid: 's1', db: m.db, head: 3, epoch: 'e1' });
      socket.reply({ type: 'reset', sid: 's1', epoch: 'e1' });
      socket.reply({ type: 'changes', sid: 's1', db: m.db, seq: 2, deltas: [
        { col: 'c', id: 'd', attr: '$owner', value: 'u', ts: t(1), seq: 0 },
        { col: 'c', id: 'd', attr: 'title', value: 'secret', ts: t(1), seq: 1 },
        { col: 'c', id: 'k', attr: 'title', value: 'kept', ts: t(2), seq: 2 }] });
      socket.reply({ type: 'changes', sid: 's1', db: m.db, seq: 3, deltas: [
        { col: 'c', id: 'd', attr: '$deleted', value: true, ts: t(3), valuesPurged: true, seq: 3 }] });
      socket.reply({ type: 'synced', sid: 's1', seq: 3 });
      return undefined;
    };
    const store = memoryStore();
    const c = createClient({ url: 'ws://x/sync', WebSocket: server.WebSocket, store });
    try {
      c.db('todo');
      await until(() => c.status.synced.todo === 3, { what: 'synced' });
      await until(async () => (await store.load()).cursors.todo?.seq === 3, { what: 'stored' });
      const rows = (await store.load()).registers.map((r) => `${r.id}/${r.attr}`).sort();
      assert.deepEqual(rows, ['d/$deleted', 'd/$owner', 'k/title'], 'the $owner stays, as on the server');
      assert.equal(c.db('todo').col('c').doc('d').get(), null);
    } finally {
      await c.close();
    }
  });

  it('a replica drops the values a $deleted marked valuesPurged hides but keeps the $owner, as the server does', async () => {
    const server = fakeServer();
    const t = (ms) => `${String(Date.now() - 100_000 + ms).padStart(13, '0')}-0000-other`;
    server.handle = (m, socket) => {
      if (m.type !== 'sub') return server.standard(m, socket);
      socket.reply({ type: 'subscribed', rid: m.rid, sid: 's1', db: m.db, head: 3, epoch: 'e1' });
      socket.reply({ type: 'synced', sid: 's1', seq: 0 });
      socket.reply({ type: 'changes', sid: 's1', db: m.db, seq: 3, deltas: [
        { col: 'c', id: 'd', attr: '$owner', value: 'u', ts: t(1), seq: 1 },
        { col: 'c', id: 'd', attr: 'title', value: 'secret', ts: t(1), seq: 2 },
        { col: 'c', id: 'd', attr: '$deleted', value: true, ts: t(3), seq: 3 }] });
      socket.reply({ type: 'changes', sid: 's1', db: m.db, seq: 5, deltas: [
        { col: 'c', id: 'd', attr: '$deleted', value: true, ts: t(3), valuesPurged: true, seq: 4 },
        { col: 'c', id: 'd', attr: '$deleted', value: false, ts: t(6), seq: 5 }] });
      return undefined;
    };
    const store = memoryStore();
    const c = createClient({ url: 'ws://x/sync', WebSocket: server.WebSocket, store });
    try {
      c.db('todo');
      await until(async () => (await store.load()).cursors.todo?.seq === 5, { what: 'stored' });
      const rows = (await store.load()).registers.map((r) => `${r.id}/${r.attr}`).sort();
      assert.deepEqual(rows, ['d/$deleted', 'd/$owner']);
      assert.deepEqual(c.db('todo').col('c').doc('d').get(), { id: 'd', $owner: 'u' }, 'restored, as on the server');
    } finally {
      await c.close();
    }
  });
});

/**
 * A fake server whose `sub` sends c/d's title 'secret' (stamped `titleTs`) and its destroy (t(3));
 * later frames go on `server.subscriber`.
 */
function destroyedDocServer(t, titleTs) {
  const server = fakeServer();
  server.handle = (m, socket) => {
    if (m.type !== 'sub') return server.standard(m, socket);
    socket.reply({ type: 'subscribed', rid: m.rid, sid: 's1', db: m.db, head: 2, epoch: 'e1' });
    socket.reply({ type: 'synced', sid: 's1', seq: 0 });
    socket.reply({ type: 'changes', sid: 's1', db: m.db, seq: 2, deltas: [
      { col: 'c', id: 'd', attr: 'title', value: 'secret', ts: titleTs, seq: 1 },
      { col: 'c', id: 'd', attr: '$deleted', value: true, ts: t(3), seq: 2 }] });
    server.subscriber = socket;
    return undefined;
  };
  return server;
}

/** A memory store whose first write that forgets fails (a full disk, a busy IndexedDB), if `fail`. */
function failingFirstForget(inner, fail = true) {
  const state = { failed: 0 };
  state.store = { ...inner, write: (batch) => (fail && batch.forget?.length && state.failed++ === 0
    ? Promise.reject(new Error('disk full')) : inner.write(batch)) };
  return state;
}

/** c/d as a client started offline on `store` shows it. */
async function reloadedDoc(store) {
  const again = createClient({ url: 'ws://x/sync', offline: true, store });
  try {
    await again.ready;
    return again.db('todo').col('c').doc('d').get();
  } finally {
    await again.close();
  }
}

describe('client, values a server purged: a store write that fails', () => {
  it('the purged values stay out of the store when the write that forgot them failed and the next one lands', async () => {
    const t = (ms) => `${String(Date.now() - 100_000 + ms).padStart(13, '0')}-0000-other`;
    const server = destroyedDocServer(t, t(1));
    const inner = memoryStore();
    const failing = failingFirstForget(inner);
    const c = createClient({ url: 'ws://x/sync', WebSocket: server.WebSocket, store: failing.store });
    c.on('error', () => {});
    try {
      c.db('todo');
      await until(() => c.status.synced.todo === 2, { what: 'synced' });
      server.subscriber.reply({ type: 'changes', sid: 's1', db: 'todo', seq: 3, deltas: [
        { col: 'c', id: 'd', attr: '$deleted', value: true, ts: t(3), valuesPurged: true, seq: 3 }] });
      await until(() => failing.failed === 1, { what: 'the forgetting write failed' });
      // the document restored: on the server without its purged title
      server.subscriber.reply({ type: 'changes', sid: 's1', db: 'todo', seq: 4, deltas: [
        { col: 'c', id: 'd', attr: '$deleted', value: false, ts: t(6), seq: 4 }] });
      await until(async () => (await inner.load()).cursors.todo?.seq === 4, { what: 'stored' });
      assert.deepEqual(c.db('todo').col('c').doc('d').get(), { id: 'd' }, 'this client, as the server');
    } finally {
      await c.close();
    }
    // restarted on that store: the purged title must not be back, shown, though the server holds none
    assert.deepEqual(await reloadedDoc(inner), { id: 'd' }, 'after a reload');
  });
});

describe('client, values a server purged: a value of the same attribute the server took after the purge', () => {
  /**
   * c/d's title 'secret' (stamped t(2)) and its destroy (t(3)); then the purge's marked commit, a
   * newer note that makes the document visible on the server, and a peer's late title stamped
   * t(1), which the server took (it no longer held a title), in `frames` (split as `split`); then
   * a restore. Returns what the client shows of c/d, and what a reload of its store shows.
   */
  async function lateTitle({ split, failForget }) {
    const base = Date.now() - 100_000;
    const t = (ms) => `${String(base + ms).padStart(13, '0')}-0000-other`;
    const server = destroyedDocServer(t, t(2));
    const frames = { reply: (m) => server.subscriber.reply(m) };
    const inner = memoryStore();
    const failing = failingFirstForget(inner, failForget);
    const c = createClient({ url: 'ws://x/sync', WebSocket: server.WebSocket, store: failing.store });
    c.on('error', () => {});
    let shown;
    try {
      c.db('todo');
      await until(() => c.status.synced.todo === 2, { what: 'synced' });
      const purged = { col: 'c', id: 'd', attr: '$deleted', value: true, ts: t(3), valuesPurged: true, seq: 3 };
      const after = [{ col: 'c', id: 'd', attr: 'note', value: 'new', ts: t(4), seq: 4 },
        { col: 'c', id: 'd', attr: 'title', value: 'late', ts: t(1), seq: 5 }];
      if (split) {
        frames.reply({ type: 'changes', sid: 's1', db: 'todo', seq: 3, deltas: [purged] });
        if (failForget) await until(() => failing.failed === 1, { what: 'the forgetting write failed' });
        frames.reply({ type: 'changes', sid: 's1', db: 'todo', seq: 5, deltas: after });
      } else {
        frames.reply({ type: 'changes', sid: 's1', db: 'todo', seq: 5, deltas: [purged, ...after] });
      }
      frames.reply({ type: 'changes', sid: 's1', db: 'todo', seq: 6, deltas: [
        { col: 'c', id: 'd', attr: '$deleted', value: false, ts: t(6), seq: 6 }] });
      await until(async () => (await inner.load()).cursors.todo?.seq === 6, { what: 'stored' });
      shown = c.db('todo').col('c').doc('d').get();
    } finally {
      await c.close();
    }
    return { shown, reloaded: await reloadedDoc(inner) };
  }

  it('the forgetting write failed and the next one brings the late title: a reload shows the late title, not the purged one', async () => {
    const { shown, reloaded } = await lateTitle({ split: true, failForget: true });
    assert.deepEqual(shown, { id: 'd', note: 'new', title: 'late' }, 'this client, as the server');
    assert.deepEqual(reloaded, { id: 'd', note: 'new', title: 'late' }, 'after a reload');
  });

  it('the late title in the same frame as the marked $deleted: a reload still shows it', async () => {
    const { shown, reloaded } = await lateTitle({ split: false, failForget: false });
    assert.deepEqual(shown, { id: 'd', note: 'new', title: 'late' }, 'this client, as the server');
    assert.deepEqual(reloaded, { id: 'd', note: 'new', title: 'late' }, 'after a reload');
  });
});
