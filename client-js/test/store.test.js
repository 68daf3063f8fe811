// One suite, two backends: memoryStore and indexedDbStore (through fake-indexeddb). Each test
// writes through one store object, then reads through a fresh one on the same data ("reopen"),
// as a reload would.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { indexedDbStore, memoryStore } from '../src/index.js';

const ts = (ms, origin = 'c1', counter = 0) => `${String(ms).padStart(13, '0')}-${counter.toString(16).padStart(4, '0')}-${origin}`;
const reg = (id, attr, value, ms, db = 'todo', col = 'items') => ({ db, col, id, attr, value, ts: ts(ms) });
const byKey = (a, b) => (`${a.db}/${a.col}/${a.id}/${a.attr}` < `${b.db}/${b.col}/${b.id}/${b.attr}` ? -1 : 1);

const backends = {
  memory() {
    const store = memoryStore();
    return { store, reopen: () => store };
  },
  'indexedDB (fake-indexeddb)'() {
    const factory = new IDBFactory();
    const open = () => indexedDbStore('app', { indexedDB: factory, IDBKeyRange });
    return { store: open(), reopen: open };
  },
  'indexedDB without an IDBKeyRange'() {
    const factory = new IDBFactory();
    const open = () => indexedDbStore('app', { indexedDB: factory });
    return { store: open(), reopen: open };
  },
};

for (const [name, make] of Object.entries(backends)) {
  describe(`store: ${name}`, () => {
    it('starts empty', async () => {
      const { store } = make();
      assert.deepEqual(await store.load(), { clientId: null, clock: null, auth: null, owner: null, authGen: 0, cursors: {}, registers: [], pending: [] });
    });

    it('keeps the first clientId it is given unless told to replace it', async () => {
      const { store, reopen } = make();
      assert.equal(await store.claimClientId('first'), 'first');
      assert.equal(await store.claimClientId('second'), 'first');
      await store.close();
      assert.equal((await reopen().load()).clientId, 'first');
      assert.equal(await reopen().claimClientId('third', true), 'third');
      assert.equal((await reopen().load()).clientId, 'third');
    });

    it('persists registers, cursor and clock together, and they survive a reopen', async () => {
      const { store, reopen } = make();
      await store.write({
        registers: [reg('a', 'title', 'Buy milk', 1), reg('a', 'done', false, 1), reg('b', 'title', { x: [1, null] }, 2)],
        cursors: { todo: { seq: 3, epoch: 'e1' } },
        clock: '0000000000002-0000',
      });
      await store.close();
      const state = await reopen().load();
      assert.deepEqual(state.registers.sort(byKey), [reg('a', 'done', false, 1), reg('a', 'title', 'Buy milk', 1), reg('b', 'title', { x: [1, null] }, 2)]);
      assert.deepEqual(state.cursors, { todo: { seq: 3, epoch: 'e1' } });
      assert.equal(state.clock, '0000000000002-0000');
    });

    it('merges registers by timestamp: an older write never replaces a newer one', async () => {
      const { store, reopen } = make();
      await store.write({ registers: [reg('a', 'title', 'new', 5)] });
      await store.write({ registers: [reg('a', 'title', 'old', 4)] });
      await store.write({ registers: [reg('a', 'done', 'x', 1), reg('a', 'done', 'y', 3), reg('a', 'done', 'z', 2)] });
      const state = await reopen().load();
      assert.deepEqual(state.registers.sort(byKey), [reg('a', 'done', 'y', 3), reg('a', 'title', 'new', 5)]);
    });

    it('merges equal timestamps by value, as the replica does: the greater value stays', async () => {
      const { store, reopen } = make();
      await store.write({ registers: [reg('a', 'title', 'b', 5)] });
      await store.write({ registers: [reg('a', 'title', 'a', 5)] });
      await store.write({ registers: [reg('a', 'done', false, 5), reg('a', 'done', true, 5), reg('a', 'done', null, 5)] });
      const state = await reopen().load();
      assert.deepEqual(state.registers.sort(byKey), [reg('a', 'done', true, 5), reg('a', 'title', 'b', 5)]);
    });

    it('forget removes a register only while it still has that timestamp, before the registers of its batch', async () => {
      const { store, reopen } = make();
      await store.write({ registers: [reg('a', 'title', 'secret', 1), reg('a', 'body', 'x', 2), reg('a', '$deleted', true, 3)] });
      await store.write({ registers: [reg('a', 'body', 'newer', 4)] });
      await store.write({ forget: [reg('a', 'title', 'secret', 1), reg('a', 'body', 'x', 2), reg('b', 'title', 'absent', 1)] });
      // in one batch: a register that lands is not forgotten by an older one
      await store.write({ registers: [reg('c', 'title', 'v2', 6)], forget: [reg('c', 'title', 'v1', 5)] });
      // the forgotten value goes first, so an older one of its attribute (taken since) lands; the
      // forgotten one itself, in the same batch, is not written back
      await store.write({ registers: [reg('d', 'title', 'secret', 8)] });
      await store.write({ registers: [reg('d', 'title', 'late', 7), reg('e', 'title', 'gone', 9)], forget: [reg('d', 'title', 'secret', 8), reg('e', 'title', 'gone', 9)] });
      const state = await reopen().load();
      assert.deepEqual(state.registers.sort(byKey), [reg('a', '$deleted', true, 3), reg('a', 'body', 'newer', 4),
        reg('c', 'title', 'v2', 6), reg('d', 'title', 'late', 7)]);
    });

    it('the pending queue survives a reopen, and a delete removes only the acked timestamp', async () => {
      const { store, reopen } = make();
      await store.write({ pendingPut: [reg('a', 'title', 'v1', 1), reg('b', 'title', 'w', 1)] });
      await store.write({ pendingPut: [reg('a', 'title', 'v2', 2)] }); // written again before the ack
      await store.write({ pendingDelete: [reg('a', 'title', 'v1', 1)] }); // the ack of v1
      await store.close();
      let state = await reopen().load();
      assert.deepEqual(state.pending.sort(byKey), [reg('a', 'title', 'v2', 2), reg('b', 'title', 'w', 1)]);
      await reopen().write({ pendingDelete: [reg('a', 'title', 'v2', 2), reg('b', 'title', 'w', 1)] });
      state = await reopen().load();
      assert.deepEqual(state.pending, []);
    });

    it('a re-stamp (delete the old timestamp, put the new one) in one batch keeps the new one', async () => {
      const { store, reopen } = make();
      await store.write({ pendingPut: [reg('a', 'title', 'v', 9)] });
      await store.write({ pendingDelete: [reg('a', 'title', 'v', 9)], pendingPut: [reg('a', 'title', 'v', 3)] });
      assert.deepEqual((await reopen().load()).pending, [reg('a', 'title', 'v', 3)]);
    });

    it('an older pending write does not replace a newer one (two tabs writing)', async () => {
      const { store, reopen } = make();
      await store.write({ pendingPut: [reg('a', 'title', 'newer', 7)] });
      await store.write({ pendingPut: [reg('a', 'title', 'older', 6)] });
      assert.deepEqual((await reopen().load()).pending, [reg('a', 'title', 'newer', 7)]);
    });

    it('drop clears one database before the registers of the same batch land', async () => {
      const { store, reopen } = make();
      await store.write({ registers: [reg('a', 't', 1, 9), reg('b', 't', 1, 9), reg('a', 't', 1, 9, 'other')] });
      await store.write({ pendingPut: [reg('p', 't', 1, 9)] });
      await store.write({ drop: ['todo'], registers: [reg('a', 't', 2, 1)], cursors: { todo: { seq: 1, epoch: 'e2' } } });
      const state = await reopen().load();
      assert.deepEqual(state.registers.sort(byKey), [reg('a', 't', 1, 9, 'other'), reg('a', 't', 2, 1)]);
      assert.deepEqual(state.pending, [reg('p', 't', 1, 9)], 'pending writes stay');
      assert.deepEqual(state.cursors, { todo: { seq: 1, epoch: 'e2' } });
    });

    it('keeps the token record and the data owner, and forgets them on null', async () => {
      const { store, reopen } = make();
      const auth = { token: 'eyJ.x.y', expiresAt: 1_800_000_000_000, issuedAt: 1_799_000_000_000, user: { id: 'alice', roles: ['admin'] } };
      await store.write({ auth, owner: 'alice', registers: [reg('a', 't', 1, 1)] });
      await store.close();
      let state = await reopen().load();
      assert.deepEqual(state.auth, auth);
      assert.equal(state.owner, 'alice');
      await reopen().write({ registers: [reg('b', 't', 1, 1)] }); // leaves them alone
      assert.deepEqual((await reopen().load()).auth, auth);
      await reopen().write({ auth: null });
      state = await reopen().load();
      assert.equal(state.auth, null);
      assert.equal(state.owner, 'alice', 'the data still belongs to alice');
      await reopen().write({ owner: null });
      assert.equal((await reopen().load()).owner, null);
    });

    it('wipe removes every register, cursor and pending write, and keeps clientId, clock and the rest of its batch', async () => {
      const { store, reopen } = make();
      await store.claimClientId('device');
      await store.write({
        registers: [reg('a', 't', 1, 1), reg('a', 't', 1, 1, 'other')],
        cursors: { todo: { seq: 1, epoch: 'e1' }, other: { seq: 1, epoch: 'e1' } },
        pendingPut: [reg('p', 't', 1, 2)],
        clock: '0000000000002-0000',
        auth: { token: 't', expiresAt: 5, issuedAt: 1, user: { id: 'alice', roles: [] } },
        owner: 'alice',
      });
      const signedOut = await store.write({ wipe: true, auth: null, owner: null, registers: [reg('n', 't', 1, 3)], cursors: { todo: { seq: 9, epoch: 'e2' } } });
      await store.close();
      const state = await reopen().load();
      assert.deepEqual(state, {
        clientId: 'device',
        clock: '0000000000002-0000',
        auth: null,
        owner: null,
        authGen: signedOut.authGen,
        cursors: { todo: { seq: 9, epoch: 'e2' } },
        registers: [reg('n', 't', 1, 3)],
        pending: [],
      });
    });

    it('a batch with ifOwner lands only while the stored owner is that user (anonymous data: always)', async () => {
      const { store, reopen } = make();
      await store.write({ owner: 'alice', registers: [reg('a', 'title', 'hers', 1)] });
      await store.write({ ifOwner: 'bob', registers: [reg('b', 'title', 'his', 2)], cursors: { todo: { seq: 9, epoch: 'e1' } } });
      await store.write({ ifOwner: 'alice', registers: [reg('c', 'title', 'hers too', 3)] });
      await store.write({ ifOwner: null, registers: [reg('d', 'title', 'anyone', 4)] });
      const state = await reopen().load();
      assert.deepEqual(state.registers.map((r) => r.id).sort(), ['a', 'c', 'd']);
      assert.deepEqual(state.cursors, {}, 'none of the skipped batch landed');
    });

    it('stamps each write of auth later than the last, and says so: tabs tell which sign-in it took last', async () => {
      const { store, reopen } = make();
      const auth = (id) => ({ token: `t-${id}`, expiresAt: 5, issuedAt: 1, user: { id, roles: [] } });
      const before = Date.now();
      const first = await store.write({ auth: auth('alice'), owner: 'alice' });
      assert.equal(first.wiped, false);
      assert.ok(first.authGen >= before, `at least the time (ms): a store made again stamps above its old stamps (${first.authGen})`);
      assert.equal(await store.write({ registers: [reg('a', 't', 1, 1)] }), undefined, 'no auth: no stamp');
      assert.equal(await store.write({ ifOwner: 'bob', auth: auth('bob') }), undefined, 'skipped: no stamp');
      const stamps = [first.authGen];
      for (let i = 0; i < 5; i++) { // several in one millisecond still rise
        const w = await store.write({ auth: i % 2 ? auth('alice') : null, owner: i % 2 ? 'alice' : null });
        stamps.push(w.authGen);
      }
      for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] > stamps[i - 1], `rising: ${stamps}`);
      await store.close();
      assert.equal((await reopen().load()).authGen, stamps.at(-1));
    });

    it('a sign-in as another user than the stored owner wipes the data, whatever its batch says', async () => {
      const { store, reopen } = make();
      const auth = (id) => ({ token: `t-${id}`, expiresAt: 5, issuedAt: 1, user: { id, roles: [] } });
      await store.write({ registers: [reg('anon', 't', 1, 1)], pendingPut: [reg('anon-edit', 't', 1, 1)] });
      // from anonymous, and as the same user again: the data stays
      assert.equal((await store.write({ auth: auth('alice'), owner: 'alice' })).wiped, false);
      await store.write({ ifOwner: 'alice', registers: [reg('hers', 't', 1, 2)], cursors: { todo: { seq: 2, epoch: 'e1' } } });
      assert.equal((await store.write({ auth: auth('alice'), owner: 'alice' })).wiped, false);
      assert.equal((await reopen().load()).registers.length, 2);
      // another tab, anonymous when it signed in as bob, lands after alice's sign-in
      assert.equal((await store.write({ wipe: false, auth: auth('bob'), owner: 'bob', registers: [reg('his', 't', 1, 3)] })).wiped, true);
      const state = await reopen().load();
      assert.deepEqual(state.registers.map((r) => r.id), ['his'], 'none of alice\'s, nor the anonymous data that became hers');
      assert.deepEqual(state.pending, []);
      assert.deepEqual(state.cursors, {});
    });

    it('keeps unicode names and values intact', async () => {
      const { store, reopen } = make();
      const r = { db: 'todo', col: 'Aufgaben', id: 'ид-😀', attr: '名前', value: 'x\u0000y🙂', ts: ts(1) };
      await store.write({ registers: [r] });
      assert.deepEqual((await reopen().load()).registers, [r]);
    });
  });
}
