// How the core settles an ack against what arrived meanwhile, down to what it stores.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientCore } from '../src/core.js';
import { Emitter } from '../src/emitter.js';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { indexedDbStore, memoryStore } from '../src/index.js';
import { sleep } from './support/util.js';

const otherTs = (ms) => `${String(ms).padStart(13, '0')}-0000-other`;

describe('settling an ack', () => {
  it('a write acked after a newer change arrived leaves the newer value in memory and in the store', async () => {
    const store = memoryStore();
    const core = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    await core.load('me');
    await core.write('todo', 'items', 'a', { title: 'mine' });
    const [mine] = (await store.load()).pending;
    // another device's newer value reaches us before the server's ack of our write
    const theirs = { col: 'items', id: 'a', attr: 'title', value: 'theirs', ts: `${String(Date.now() + 60_000).padStart(13, '0')}-0000-other` };
    await core.applyChanges('todo', [{ ...theirs, seq: 2 }], { seq: 2, epoch: 'e1' });
    core.settle('todo', [{ col: 'items', id: 'a', attr: 'title', value: 'mine', ts: mine.ts }], ['applied']);
    await core.flushed();
    assert.equal(core.replica.confirmed('todo', 'items', 'a', 'title').value, 'theirs');
    const stored = (await store.load()).registers.find((r) => r.id === 'a' && r.attr === 'title');
    assert.equal(stored.value, 'theirs', 'the store must not go back to the older, acked value');
    assert.equal((await store.load()).pending.length, 0, 'the acked write left the queue');
  });
});

describe('settling quorum_timeout', () => {
  it('is reported for the attribute\'s current write, not for one a newer edit has replaced', async () => {
    const events = new Emitter();
    const errors = [];
    events.on('error', (e) => errors.push(e));
    const core = new ClientCore({ store: memoryStore(), now: () => Date.now(), events });
    await core.load('me');
    await core.write('todo', 'items', 'a', { title: 'first' });
    const first = { col: 'items', id: 'a', attr: 'title', value: 'first', ts: core.replica.pendingEntry('todo', 'items', 'a', 'title').ts };
    await core.write('todo', 'items', 'a', { title: 'second' });
    const timeout = { error: 'quorum_timeout', message: 'held by 1 server(s)', servers: 1 };
    assert.equal(core.settle('todo', [first], [timeout]).retry, true);
    assert.deepEqual(errors, [], 'the newer write gets an answer of its own');
    const second = { ...first, value: 'second', ts: core.replica.pendingEntry('todo', 'items', 'a', 'title').ts };
    core.settle('todo', [second], [timeout]);
    assert.deepEqual(errors.map((e) => [e.code, e.servers]), [['quorum_timeout', 1]]);
  });
});

// A core on a memory store whose next write fails once failNext() is called.
async function coreOnAFlakyStore() {
  const store = memoryStore();
  let fail = false;
  const flaky = { ...store, write: (batch) => (fail ? ((fail = false), Promise.reject(new Error('quota'))) : store.write(batch)) };
  const core = new ClientCore({ store: flaky, now: () => Date.now(), events: new Emitter() });
  await core.load('me');
  return { store, core, failNext: () => { fail = true; } };
}

const titleDelta = (id, seq) => ({ col: 'items', id, attr: 'title', value: id, ts: otherTs(Date.now() - 1000 + seq), seq });

describe('a store write that fails', () => {
  it('rejects the edit with code storage: applied and pending all the same', async () => {
    const { core, failNext } = await coreOnAFlakyStore();
    failNext();
    await assert.rejects(core.write('todo', 'items', 'x', { title: 'kept in memory' }), { name: 'SynclineError', code: 'storage', db: 'todo', id: 'x' });
    assert.equal(core.replica.doc('todo', 'items', 'x').title, 'kept in memory');
    assert.equal(core.status.pending, 1);
  });

  it('leaves no cursor stored past its registers: they go with the next write', async () => {
    const { store, core, failNext } = await coreOnAFlakyStore();
    await core.applyChanges('todo', [titleDelta('a', 1)], { seq: 1, epoch: 'e1' });
    failNext();
    await assert.rejects(core.applyChanges('todo', [titleDelta('b', 2)], { seq: 2, epoch: 'e1' }));
    await core.applyChanges('todo', [titleDelta('c', 3)], { seq: 3, epoch: 'e1' });
    const state = await store.load();
    assert.equal(state.cursors.todo.seq, 3);
    assert.deepEqual(state.registers.map((r) => r.id).sort(), ['a', 'b', 'c'], 'b came with the next write');
  });

  it('a failed sign-in\'s wipe, token and owner go with the next write: a reload is not the previous user', async () => {
    const { store, core, failNext } = await coreOnAFlakyStore();
    const record = (id) => ({ token: `t-${id}`, expiresAt: Date.now() + 3_600_000, user: { id, roles: [] } });
    core.signIn(record('alice'));
    await core.applyChanges('todo', [titleDelta('hers', 1)], { seq: 1, epoch: 'e1' });
    failNext();
    core.signIn(record('bob'));
    await core.flushed();
    await core.applyChanges('todo', [titleDelta('his', 1)], { seq: 1, epoch: 'e2' });
    const state = await store.load();
    assert.equal(state.owner, 'bob');
    assert.equal(state.auth.user.id, 'bob');
    assert.deepEqual(state.registers.map((r) => r.id), ['his'], 'alice\'s data was wiped');
  });

  it('an edit whose store write fails is still pushed: it is applied and pending in memory', async () => {
    const { core, failNext } = await coreOnAFlakyStore();
    const pushed = [];
    core.onPending = (db) => pushed.push(db);
    failNext();
    await assert.rejects(core.write('todo', 'items', 'z', { title: 'x' }));
    assert.deepEqual(pushed, ['todo']);
  });

  it('a failed write\'s data is not carried past another tab\'s logout of its user', async () => {
    const { store, core, failNext } = await coreOnAFlakyStore();
    core.signIn({ token: 't-alice', expiresAt: Date.now() + 3_600_000, user: { id: 'alice', roles: [] } });
    await core.flushed();
    failNext();
    await assert.rejects(core.applyChanges('todo', [titleDelta('hers', 1)], { seq: 1, epoch: 'e1' }));
    await store.write({ wipe: true, auth: null, owner: null }); // another tab's logout, stored
    core.fromTab({ kind: 'auth', auth: null, owner: null, wiped: true });
    await core.applyChanges('todo', [titleDelta('anyone', 1)], { seq: 1, epoch: 'e2' });
    assert.deepEqual((await store.load()).registers.map((r) => r.id), ['anyone'], 'none of alice\'s');
  });

  it('while writes keep failing, each carries one register per attribute, not every one before it', async () => {
    const { core, failNext } = await coreOnAFlakyStore();
    const sizes = [];
    const flakyWrite = core.store.write;
    core.store.write = (batch) => {
      sizes.push(batch.registers?.length ?? 0);
      return flakyWrite(batch);
    };
    for (let seq = 1; seq <= 5; seq++) {
      failNext();
      await assert.rejects(core.applyChanges('todo', [{ ...titleDelta('same', seq), value: seq }], { seq, epoch: 'e1' }));
    }
    assert.deepEqual(sizes, [1, 1, 1, 1, 1]);
  });

  it('a failed reset\'s drop goes with the next write, and the older registers it dropped stay dropped', async () => {
    const { store, core, failNext } = await coreOnAFlakyStore();
    failNext();
    await assert.rejects(core.applyChanges('todo', [titleDelta('old', 1)], { seq: 1, epoch: 'e1' }));
    failNext();
    await assert.rejects(core.replaceDatabase('todo', [titleDelta('new', 1)], { seq: 1, epoch: 'e2' }));
    await core.applyChanges('todo', [titleDelta('later', 2)], { seq: 2, epoch: 'e2' });
    const state = await store.load();
    assert.deepEqual(state.cursors.todo, { seq: 2, epoch: 'e2' });
    assert.deepEqual(state.registers.map((r) => r.id).sort(), ['later', 'new'], 'the first life\'s register is gone');
  });
});

// Two tabs on one store, their channel wired by hand; tab A's store writes stop landing (it was
// closed or crashed before they committed) after it has told tab B of what they held.
async function twoTabs(store = memoryStore()) {
  const tabA = { alive: true };
  const storeOfA = { ...store, write: (batch) => (tabA.alive ? store.write(batch) : new Promise(() => {})) };
  const a = new ClientCore({ store: storeOfA, now: () => Date.now(), events: new Emitter() });
  const b = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
  await a.load('me');
  await b.load('me');
  a.tabs = { post: (m) => b.fromTab(structuredClone(m)) };
  b.tabs = { post: (m) => a.fromTab(structuredClone(m)) };
  return { store, tabA, a, b };
}

describe('two tabs on one store', () => {
  it('data a tab sends before it hears of another tab\'s logout lands neither in that tab nor in the store', async () => {
    const store = memoryStore();
    const a = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    const b = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    await a.load('me');
    await b.load('me');
    const toB = []; // what A posts reaches B only when the test says
    a.tabs = { post: (m) => toB.push(structuredClone(m)) };
    b.tabs = { post: (m) => a.fromTab(structuredClone(m)) };
    const deliverToB = () => toB.splice(0).forEach((m) => b.fromTab(m));
    a.signIn({ token: 't-alice', expiresAt: Date.now() + 3_600_000, user: { id: 'alice', roles: [] } });
    await a.flushed(); // told to the other tabs once stored
    deliverToB();
    assert.equal(b.owner, 'alice');

    a.signOut();
    await a.flushed();
    await b.applyChanges('todo', [titleDelta('hers', 1)], { seq: 1, epoch: 'e1' }); // B has not heard yet
    await b.write('todo', 'items', 'edit', { title: 'hers too' });
    assert.equal(a.replica.confirmed('todo', 'items', 'hers', 'title'), undefined, 'not in the signed-out tab');
    assert.equal(a.replica.pendingEntry('todo', 'items', 'edit', 'title'), undefined, 'nor her edit');
    const state = await store.load();
    assert.equal(state.owner, null);
    assert.deepEqual(state.registers, [], 'nor in the store');
    assert.deepEqual(state.pending, []);
    assert.deepEqual(state.cursors, {});
    deliverToB();
    assert.equal(b.owner, null);
  });


  it('what a tab writes right after a sign-out reaches the other tabs after the sign-out, not before', async () => {
    const store = memoryStore();
    let slow = false;
    const storeOfA = { ...store, write: (batch) => (slow ? sleep(100).then(() => store.write(batch)) : store.write(batch)) };
    const a = new ClientCore({ store: storeOfA, now: () => Date.now(), events: new Emitter() });
    const b = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    await a.load('me');
    await b.load('me');
    const heard = [];
    a.tabs = { post: (m) => { heard.push(m.kind); b.fromTab(structuredClone(m)); } };
    b.tabs = { post: (m) => a.fromTab(structuredClone(m)) };
    a.signIn({ token: 't-alice', expiresAt: Date.now() + 3_600_000, user: { id: 'alice', roles: [] } });
    await a.flushed();
    assert.equal(b.owner, 'alice');
    slow = true; // the wipe lands late
    a.signOut();
    a.write('todo', 'items', 'anon', { title: 'after the sign-out' }).catch(() => {});
    await a.flushed();
    assert.deepEqual(heard, ['auth', 'auth', 'local', 'local'], 'the sign-out first; the edit at once, and again once stored');
    assert.equal(b.owner, null);
    assert.equal(b.replica.pendingEntry('todo', 'items', 'anon', 'title')?.value, 'after the sign-out', 'b took it as anonymous');
  });

  it('an edit made while another tab opens reaches it, though that tab read the store before the edit landed', async () => {
    const store = memoryStore();
    let landed;
    const slowWrite = new Promise((resolve) => { landed = resolve; });
    const storeOfA = { ...store, write: (batch) => (batch.pendingPut ? slowWrite.then(() => store.write(batch)) : store.write(batch)) };
    const a = new ClientCore({ store: storeOfA, now: () => Date.now(), events: new Emitter() });
    await a.load('me');
    a.tabs = { post: () => {} }; // B's channel is not open yet: the first message reaches no one
    const written = a.write('todo', 'items', 'x', { title: 'made as B opened' });
    const b = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    await b.load('me'); // before A's write lands
    a.tabs = { post: (m) => b.fromTab(structuredClone(m)) }; // B's channel opens
    landed();
    await written;
    await a.flushed();
    assert.equal(b.replica.pendingEntry('todo', 'items', 'x', 'title')?.value, 'made as B opened',
      'B holds the edit, and would push it if A closed now');
  });

  it('a write re-stamped after a collision reaches a tab that opens meanwhile, though that tab read the store before the re-stamp landed', async () => {
    const store = memoryStore();
    let landed;
    const slowWrite = new Promise((resolve) => { landed = resolve; });
    // A's re-stamp (it deletes the old pending timestamp) lands only when the test says
    const storeOfA = { ...store, write: (batch) => (batch.pendingDelete?.length ? slowWrite.then(() => store.write(batch)) : store.write(batch)) };
    const now = () => 1_800_000_000_000; // one clock for both tabs: their edits get one timestamp
    const a = new ClientCore({ store: storeOfA, now, events: new Emitter() });
    const x = new ClientCore({ store, now, events: new Emitter() });
    await a.load('me');
    await x.load('me');
    const told = [];
    x.tabs = { post: (m) => told.push(structuredClone(m)) };
    a.tabs = { post: () => {} }; // C's channel is not open yet: the re-stamp's first message reaches no one
    await a.write('todo', 'items', 'x', { title: 'a' });
    await x.write('todo', 'items', 'x', { title: 'b' });
    const same = a.replica.pendingEntry('todo', 'items', 'x', 'title').ts;
    assert.equal(x.replica.pendingEntry('todo', 'items', 'x', 'title').ts, same, 'the tabs collided');
    told.forEach((m) => a.fromTab(m)); // A holds the smaller value: it re-stamps its write
    const restamped = a.replica.pendingEntry('todo', 'items', 'x', 'title');
    assert.ok(restamped.ts > same);
    const c = new ClientCore({ store, now, events: new Emitter() });
    await c.load('me'); // before A's re-stamp lands
    a.tabs = { post: (m) => c.fromTab(structuredClone(m)) }; // C's channel opens
    landed();
    await a.flushed();
    const held = c.replica.pendingEntry('todo', 'items', 'x', 'title');
    assert.deepEqual({ value: held?.value, ts: held?.ts }, { value: 'a', ts: restamped.ts },
      'C holds the re-stamped write, and would push it if A closed now');
  });

  // A's store writes wait until release(); what B posts reaches A only when deliverToA() is called.
  async function twoTabsSlowA({ holdB = false } = {}) {
    const store = memoryStore();
    let gate = null;
    let open;
    const storeOfA = { ...store, write: (batch) => (gate ? gate.then(() => store.write(batch)) : store.write(batch)) };
    const a = new ClientCore({ store: storeOfA, now: () => Date.now(), events: new Emitter() });
    const b = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    await a.load('me');
    await b.load('me');
    const toA = [];
    a.tabs = { post: (m) => b.fromTab(structuredClone(m)) };
    b.tabs = { post: (m) => (holdB ? toA.push(structuredClone(m)) : a.fromTab(structuredClone(m))) };
    gate = new Promise((resolve) => { open = resolve; });
    return { a, b, release: () => { gate = null; open(); }, deliverToA: () => toA.splice(0).forEach((m) => a.fromTab(m)) };
  }

  it('an edit told again once stored is not queued again in a tab that settled it meanwhile', async () => {
    const { a, b, release, deliverToA } = await twoTabsSlowA({ holdB: true });
    const written = a.write('todo', 'items', 'x', { title: 'mine' });
    const d = { col: 'items', id: 'x', attr: 'title', value: 'mine', ts: b.replica.pendingEntry('todo', 'items', 'x', 'title').ts };
    b.settle('todo', [d], ['applied']); // B pushed it and was acked before A's write landed
    release(); // A's write lands, and A tells the edit again before it hears B's settled
    await written;
    await a.flushed();
    deliverToA();
    assert.equal(b.replica.pendingCount, 0, 'B must not queue again (and push) an edit it has settled');
    assert.equal(a.replica.pendingCount, 0);
  });

  it('an edit another tab was refused is not told again once stored: it does not show there again', async () => {
    const { a, b, release } = await twoTabsSlowA();
    const written = a.write('todo', 'items', 'x', { title: 'forbidden' });
    const d = { col: 'items', id: 'x', attr: 'title', value: 'forbidden', ts: b.replica.pendingEntry('todo', 'items', 'x', 'title').ts };
    b.settle('todo', [d], [{ error: 'forbidden', message: 'no' }]);
    release();
    await written;
    await a.flushed();
    assert.equal(b.replica.doc('todo', 'items', 'x'), null, 'the refused value must not come back in B');
    assert.equal(b.replica.pendingCount, 0);
  });

  it('a tab stores a frame\'s registers with its cursor, also ones another tab told it of first', async () => {
    const { store, tabA, a, b } = await twoTabs();
    const v0 = { col: 'items', id: 'x', attr: 'title', value: 'v0', ts: otherTs(Date.now() - 1000), seq: 10 };
    await a.applyChanges('todo', [v0], { seq: 10, epoch: 'e1' });
    await b.applyChanges('todo', [v0], { seq: 10, epoch: 'e1' });
    tabA.alive = false;
    const v1 = { ...v0, value: 'v1', ts: otherTs(Date.now()), seq: 11 };
    a.applyChanges('todo', [v1], { seq: 11, epoch: 'e1' }); // A tells B, and its write never lands
    await b.applyChanges('todo', [v1], { seq: 11, epoch: 'e1' }); // in B a duplicate by now
    const state = await store.load();
    assert.equal(state.cursors.todo.seq, 11);
    assert.equal(state.registers.find((r) => r.id === 'x').value, 'v1', 'a reload resumes after seq 11: it must hold v1');
  });

  it('an edit acked in both tabs stays in the store when one tab\'s write of it never lands', async () => {
    const { store, tabA, a, b } = await twoTabs();
    await a.write('todo', 'items', 'y', { title: 'mine' });
    await b.flushed();
    const [p] = (await store.load()).pending;
    const d = { col: 'items', id: 'y', attr: 'title', value: 'mine', ts: p.ts };
    tabA.alive = false;
    a.settle('todo', [d], ['applied']); // A tells B (settled), and its write never lands
    b.settle('todo', [d], ['duplicate']); // both tabs push every pending edit
    await b.applyChanges('todo', [{ ...d, seq: 12 }], { seq: 12, epoch: 'e1' });
    await b.flushed();
    const state = await store.load();
    const kept = state.registers.find((r) => r.id === 'y') ?? state.pending.find((r) => r.id === 'y');
    assert.equal(kept?.value, 'mine', 'the edit is in the store, as a register or still queued');
  });

  it('a write another tab was answered superseded for is not taken as the server\'s', async () => {
    const { a, b } = await twoTabs();
    await a.write('todo', 'items', 'z', { title: 'draft' });
    const d = { col: 'items', id: 'z', attr: 'title', value: 'draft', ts: a.replica.pendingEntry('todo', 'items', 'z', 'title').ts };
    a.settle('todo', [d], ['superseded']);
    assert.equal(b.replica.confirmed('todo', 'items', 'z', 'title') ?? null, null);
    assert.equal(a.replica.confirmed('todo', 'items', 'z', 'title') ?? null, null);
  });
});

describe('two tabs on one store, values a server purged', () => {
  it('a tab stores the forgetting of values the server purged, also when another tab told it of them first', async () => {
    const { store, tabA, a, b } = await twoTabs();
    const title = { col: 'items', id: 'x', attr: 'title', value: 'secret', ts: otherTs(Date.now() - 2000), seq: 10 };
    const destroy = { col: 'items', id: 'x', attr: '$deleted', value: true, ts: otherTs(Date.now() - 1000), seq: 11 };
    await a.applyChanges('todo', [title, destroy], { seq: 11, epoch: 'e1' });
    await b.applyChanges('todo', [title, destroy], { seq: 11, epoch: 'e1' });
    tabA.alive = false;
    const purged = { ...destroy, valuesPurged: true, seq: 12 };
    a.applyChanges('todo', [purged], { seq: 12, epoch: 'e1' }); // A tells B, and its write never lands
    await b.applyChanges('todo', [purged], { seq: 12, epoch: 'e1' }); // B gets the same frame
    const state = await store.load();
    assert.equal(state.cursors.todo.seq, 12);
    assert.deepEqual(state.registers.filter((r) => r.id === 'x').map((r) => r.attr), ['$deleted'],
      'a reload resumes after seq 12: the purged title must not be in the store');
  });
});

/** A fresh store of each kind. */
const bothStores = {
  memory: () => memoryStore(),
  'indexedDB (fake-indexeddb)': () => indexedDbStore('tabs', { indexedDB: new IDBFactory(), IDBKeyRange }),
};

describe('two tabs on one store, a copy swapped in', () => {
  for (const [name, make] of Object.entries(bothStores)) {
    it(`a tab that swaps in a copy older than what another tab stored leaves no cursor ahead of the registers (${name})`, async () => {
      const { store, a, b } = await twoTabs(make());
      const n86 = { col: 'items', id: 'x', attr: 'n', value: 86, ts: otherTs(Date.now() - 3000), seq: 1 };
      const n8 = { ...n86, value: 8, ts: otherTs(Date.now() - 2000), seq: 3 };
      // B is live: seq 1, then seq 3, both stored with their cursor
      await b.applyChanges('todo', [n86], { seq: 1, epoch: 'e1' });
      await b.applyChanges('todo', [n8], { seq: 3, epoch: 'e1' });
      // A held data with no cursor (or was reset): its copy was whole at seq 2, swapped in now
      await a.replaceDatabase('todo', [n86], { seq: 2, epoch: 'e1' });
      assert.equal(b.replica.confirmed('todo', 'items', 'x', 'n')?.value, 8, 'B, past the copy, keeps what came after it');
      // B goes on live; A is closed before seq 3 reaches it
      await b.applyChanges('todo', [titleDelta('y', 4)], { seq: 4, epoch: 'e1' });
      await b.flushed();
      let state = await store.load();
      const stored = () => state.registers.find((r) => r.id === 'x' && r.attr === 'n').value;
      assert.deepEqual({ cursor: state.cursors.todo.seq, n: stored() }, { cursor: 2, n: 86 },
        'the stored cursor stays at the copy: a reload resumes from there and gets seq 3 again');
      // a tab that follows the copy moves it on again
      await a.applyChanges('todo', [n8], { seq: 3, epoch: 'e1' });
      await a.applyChanges('todo', [titleDelta('y', 4)], { seq: 4, epoch: 'e1' });
      await a.flushed();
      state = await store.load();
      assert.deepEqual({ cursor: state.cursors.todo.seq, n: stored() }, { cursor: 4, n: 8 });
      // B's next cursor follows 4, which is stored now: it moves on; one that follows less moves nothing back
      await b.saveCursor('todo', { seq: 5, epoch: 'e1' });
      await b.flushed();
      assert.equal((await store.load()).cursors.todo.seq, 5);
      await store.write({ cursors: { todo: { seq: 3, epoch: 'e1', after: { seq: 2, epoch: 'e1' } } } });
      assert.equal((await store.load()).cursors.todo.seq, 5, 'not back within its epoch');
      await store.write({ cursors: { todo: { seq: 9, epoch: 'e2', after: { seq: 8, epoch: 'e2' } } } });
      assert.equal((await store.load()).cursors.todo.seq, 5, 'not over another life\'s');
    });
  }

  it('a tab behind the copy, or of another life, takes the copy in place of what it holds', async () => {
    const { a, b } = await twoTabs();
    const old = { col: 'items', id: 'x', attr: 'n', value: 1, ts: otherTs(Date.now() - 3000), seq: 1 };
    await b.applyChanges('todo', [old], { seq: 1, epoch: 'e0' });
    await a.replaceDatabase('todo', [], { seq: 5, epoch: 'e1' }); // the database made again: x is gone
    assert.equal(b.replica.confirmed('todo', 'items', 'x', 'n'), undefined);
  });

  it('a sign-out (a wipe) after a failed frame write leaves no cursor without its registers', async () => {
    const inner = memoryStore();
    let fail = false;
    const store = { ...inner, write: (batch) => (fail ? ((fail = false), Promise.reject(new Error('quota'))) : inner.write(batch)) };
    const core = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    await core.load('me');
    fail = true;
    await assert.rejects(core.applyChanges('todo', [titleDelta('x', 5)], { seq: 5, epoch: 'e1' }));
    core.signOut(); // anonymous: drops the local data; the failed write's data is its own
    await core.flushed();
    const state = await inner.load();
    assert.deepEqual({ cursors: state.cursors, registers: state.registers }, { cursors: {}, registers: [] },
      'a reload must not resume after seq 5 with nothing stored');
  });

  it('a failed write\'s cursor goes with the next write: the stored cursor moves on once that lands', async () => {
    const inner = memoryStore();
    let fail = false;
    const store = { ...inner, write: (batch) => (fail ? Promise.reject(new Error('disk full')) : inner.write(batch)) };
    const core = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
    await core.load('me');
    core.on?.('error', () => {});
    await core.applyChanges('todo', [titleDelta('a', 1)], { seq: 1, epoch: 'e1' });
    fail = true;
    await assert.rejects(core.applyChanges('todo', [titleDelta('b', 2)], { seq: 2, epoch: 'e1' }));
    await assert.rejects(core.saveCursor('todo', { seq: 3, epoch: 'e1' }));
    fail = false;
    await core.applyChanges('todo', [titleDelta('c', 4)], { seq: 4, epoch: 'e1' });
    const state = await inner.load();
    assert.equal(state.cursors.todo.seq, 4);
    assert.deepEqual(state.registers.map((r) => r.id).sort(), ['a', 'b', 'c']);
  });
});

describe('two tabs on one store, a database made again while a tab is on its old life', () => {
  for (const [name, make] of Object.entries(bothStores)) {
    it(`an old life's frame whose write lands after another tab swapped in the new life leaves no register under the new life's cursor (${name})`,
    async () => {
      const store = make();
      let gate = null;
      let open;
      const slowB = { ...store, write: (batch) => (gate ? gate.then(() => store.write(batch)) : store.write(batch)) };
      const a = new ClientCore({ store, now: () => Date.now(), events: new Emitter() });
      const b = new ClientCore({ store: slowB, now: () => Date.now(), events: new Emitter() });
      await a.load('me');
      await b.load('me');
      a.tabs = { post: (m) => b.fromTab(structuredClone(m)) };
      b.tabs = { post: (m) => a.fromTab(structuredClone(m)) };
      await b.applyChanges('todo', [titleDelta('x', 1)], { seq: 1, epoch: 'e1' });
      await a.applyChanges('todo', [titleDelta('x', 1)], { seq: 1, epoch: 'e1' });
      gate = new Promise((resolve) => { open = resolve; });
      const late = b.applyChanges('todo', [titleDelta('old', 2)], { seq: 2, epoch: 'e1' }); // B's write is slow
      await a.replaceDatabase('todo', [], { seq: 0, epoch: 'e2' }); // the database made again: A is reset first
      gate = null;
      open();
      await late;
      const state = await store.load();
      const stale = state.registers.filter((r) => r.db === 'todo').map((r) => r.id);
      assert.ok(state.cursors.todo.epoch !== 'e2' || stale.length === 0,
        `cursor ${JSON.stringify(state.cursors.todo)} over the first life's ${JSON.stringify(stale)}: a reload shows them for good`);
    });
  }
});
