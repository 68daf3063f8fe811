// How the core settles an ack against what arrived meanwhile, down to what it stores.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClientCore } from '../src/core.js';
import { Emitter } from '../src/emitter.js';
import { memoryStore } from '../src/index.js';

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
