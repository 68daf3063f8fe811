// The clock, the merge rule and the replica against simple reference models, with random
// orders and duplicates (the vectors pin the tricky single cases; these check the laws).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Clock, compareValues, decide, visible } from '../src/index.js';
import { Replica } from '../src/replica.js';
import { ulidGenerator } from '../src/ulid.js';
import { jsonEqual } from '../src/values.js';
import { rng } from './support/util.js';

const pick = (r, list) => list[Math.floor(r() * list.length)];
const ts = (ms, counter, origin) => `${String(ms).padStart(13, '0')}-${counter.toString(16).padStart(4, '0')}-${origin}`;

// Values in increasing merge order (PROTOCOL.md §6), written out by hand: the reference orders
// equal timestamps by place in this list, not by compareValues.
const RANKED = [
  null, false, true, -1, 0, 0.5, 1, 2, 10,
  '', 'A', 'a', 'ab', '中', '😀', 'ｚ',
  [], [null], [1], [1, 2], [2], ['a'], [{}],
  {}, { 10: 0 }, { 9: 0 }, { a: 1 }, { b: 0, a: 1 }, { a: 2 }, { b: 0 }, { '😀': 0 }, { 'ｚ': 0 },
];
const rankOf = (value) => RANKED.findIndex((v) => jsonEqual(v, value));

// Few timestamps, so equal ones with different values are common (two tabs sharing a clientId).
function randomDeltas(r, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const attr = pick(r, ['title', 'done', 'note', '$deleted']);
    const value = attr === '$deleted' ? r() < 0.6 : pick(r, RANKED);
    out.push({ col: pick(r, ['a', 'b']), id: pick(r, ['1', '2', '3']), attr, value, ts: ts(1000 + Math.floor(r() * 4), Math.floor(r() * 2), pick(r, ['p', 'q', 'r-1'])) });
  }
  return out;
}

function shuffle(r, list) {
  const a = list.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// Reference: per register, the delta with the greatest ts, and among equal ts the greatest rank.
function reference(deltas) {
  const regs = new Map();
  for (const d of deltas) {
    const key = `${d.col}/${d.id}/${d.attr}`;
    const cur = regs.get(key);
    if (!cur || d.ts > cur.ts || (d.ts === cur.ts && rankOf(d.value) > rankOf(cur.value))) regs.set(key, d);
  }
  return regs;
}

function snapshot(replica) {
  return replica.registersOf('db').map((r) => `${r.col}/${r.id}/${r.attr}=${JSON.stringify(r.value)}@${r.ts}`).sort();
}

describe('merge', () => {
  it('RANKED is in increasing merge order, each value equal only to itself', () => {
    const t = ts(1, 0, 'a');
    RANKED.forEach((a, i) => RANKED.forEach((b, j) => {
      assert.equal(decide(t, a, t, b), j > i ? 'applied' : j === i ? 'duplicate' : 'superseded', `${JSON.stringify(b)} onto ${JSON.stringify(a)}`);
    }));
  });

  it('decide is a total order: exactly one of applied/superseded/duplicate, antisymmetric, transitive', () => {
    const r = rng(1);
    const write = () => ({ ts: ts(Math.floor(r() * 2), Math.floor(r() * 2), pick(r, ['a', 'b'])), value: pick(r, RANKED) });
    const cmp = (x, y) => ({ applied: 1, duplicate: 0, superseded: -1 })[decide(y.ts, y.value, x.ts, x.value)];
    for (let i = 0; i < 5000; i++) {
      const [a, b, c] = [write(), write(), write()];
      const ab = cmp(a, b);
      assert.equal(cmp(b, a), 0 - ab || 0, `antisymmetric: ${JSON.stringify([a, b])}`);
      assert.equal(ab === 0, a.ts === b.ts && jsonEqual(a.value, b.value), `duplicate only for the same write: ${JSON.stringify([a, b])}`);
      if (ab <= 0 && cmp(b, c) <= 0) assert.ok(cmp(a, c) <= 0, `transitive: ${JSON.stringify([a, b, c])}`);
      assert.equal(compareValues(a.value, b.value), 0 - compareValues(b.value, a.value) || 0);
    }
  });

  it('replicas that saw the same deltas in any order, with duplicates, hold the same registers', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = rng(seed);
      const deltas = randomDeltas(r, 30);
      const expected = [...reference(deltas).values()].map((d) => `${d.col}/${d.id}/${d.attr}=${JSON.stringify(d.value)}@${d.ts}`).sort();
      const views = [];
      for (let k = 0; k < 4; k++) {
        const order = shuffle(r, deltas.concat(deltas.filter(() => r() < 0.3)));
        const replica = new Replica();
        for (const d of order) replica.mergeConfirmed('db', d);
        assert.deepEqual(snapshot(replica), expected, `seed ${seed}`);
        replica.refresh();
        views.push(['a', 'b'].map((col) => replica.docs('db', col)));
      }
      for (const v of views) assert.deepEqual(v, views[0], `seed ${seed}: same visible documents`);
    }
  });

  it('the visible document of a replica is visibility() of its registers', () => {
    const r = rng(7);
    const deltas = randomDeltas(r, 200);
    const replica = new Replica();
    for (const d of deltas) replica.mergeConfirmed('db', d);
    replica.refresh();
    const regs = reference(deltas);
    for (const col of ['a', 'b']) {
      for (const id of ['1', '2', '3']) {
        const mine = new Map([...regs.values()].filter((d) => d.col === col && d.id === id).map((d) => [d.attr, d]));
        const v = visible(mine);
        assert.deepEqual(replica.doc('db', col, id), v === null ? null : { id, ...v });
      }
    }
  });
});

describe('replica: pending writes over the confirmed state', () => {
  const d = (attr, value, ms, origin = 'me') => ({ db: 'db', col: 'c', id: 'x', attr, value, ts: ts(ms, 0, origin), mine: true });

  it('a pending write shows at once and the newer of pending and confirmed wins per attribute', () => {
    const replica = new Replica();
    replica.mergeConfirmed('db', d('title', 'server', 5, 'srv'));
    replica.mergeConfirmed('db', d('done', false, 5, 'srv'));
    replica.setPending(d('title', 'mine', 6));
    replica.setPending(d('done', true, 4)); // older than the server's: hidden
    const changes = replica.refresh();
    assert.equal(changes.length, 1);
    assert.deepEqual(replica.doc('db', 'c', 'x'), { id: 'x', title: 'mine', done: false });
    assert.equal(replica.pendingCount, 2);
  });

  it('removing a pending write falls back to the confirmed register; only the same timestamp removes it', () => {
    const replica = new Replica();
    replica.mergeConfirmed('db', d('title', 'server', 5, 'srv'));
    replica.setPending(d('title', 'v1', 6));
    replica.setPending(d('title', 'v2', 7));
    assert.equal(replica.removePending('db', 'c', 'x', 'title', ts(6, 0, 'me')), null, 'v1 was replaced by v2');
    replica.refresh();
    assert.equal(replica.doc('db', 'c', 'x').title, 'v2');
    assert.ok(replica.removePending('db', 'c', 'x', 'title', ts(7, 0, 'me')));
    const [change] = replica.refresh();
    assert.equal(change.after.title, 'server');
    assert.equal(replica.pendingCount, 0);
  });

  it('an unchanged view keeps its object, so readers can compare by identity', () => {
    const replica = new Replica();
    replica.setPending(d('title', 'a', 6));
    replica.refresh();
    const before = replica.doc('db', 'c', 'x');
    replica.mergeConfirmed('db', d('title', 'a', 6)); // the echo of our own write
    assert.deepEqual(replica.refresh(), []);
    assert.equal(replica.doc('db', 'c', 'x'), before);
    assert.ok(Object.isFrozen(before));
  });

  it('replaceConfirmed swaps one database and keeps pending writes', () => {
    const replica = new Replica();
    replica.mergeConfirmed('db', { col: 'c', id: 'old', attr: 't', value: 1, ts: ts(1, 0, 's') });
    replica.mergeConfirmed('other', { col: 'c', id: 'keep', attr: 't', value: 1, ts: ts(1, 0, 's') });
    replica.setPending({ ...d('t', 'p', 2), id: 'mine' });
    replica.refresh();
    replica.replaceConfirmed('db', [{ col: 'c', id: 'new', attr: 't', value: 2, ts: ts(3, 0, 's') }]);
    const changes = replica.refresh();
    assert.deepEqual(changes.map((c) => [c.id, c.before && c.before.t, c.after && c.after.t]).sort(), [['new', null, 2], ['old', 1, null]]);
    assert.deepEqual(replica.docs('db', 'c').map((x) => x.id), ['mine', 'new']);
    assert.deepEqual(replica.docs('other', 'c').map((x) => x.id), ['keep']);
  });

  it('an attribute called id does not hide the document id', () => {
    const replica = new Replica();
    replica.mergeConfirmed('db', { col: 'c', id: 'x', attr: 'id', value: 'other', ts: ts(1, 0, 's') });
    replica.refresh();
    assert.deepEqual(replica.doc('db', 'c', 'x'), { id: 'x' });
  });
});

describe('clock', () => {
  it('every tick is greater than everything issued or received before, whatever the wall clock does', () => {
    const r = rng(3);
    const clock = new Clock('me');
    let last = '';
    let wall = 1_700_000_000_000;
    for (let i = 0; i < 20000; i++) {
      wall += Math.floor(r() * 5) - 2; // jitters back and forth
      if (r() < 0.2) {
        const seen = ts(wall + Math.floor(r() * 10) - 5, Math.floor(r() * 0x10000), 'zz');
        clock.receive(seen);
        if (seen.slice(0, 18) > last.slice(0, 18)) last = seen;
      } else {
        const t = clock.tick(wall);
        assert.ok(t.slice(0, 18) > last.slice(0, 18), `${t} after ${last}`);
        last = t;
      }
    }
  });

  it('restores a persisted state, and refuses a malformed one', () => {
    const clock = new Clock('me', '1732212345678-00ff');
    assert.equal(clock.tick(0), '1732212345678-0100-me');
    assert.throws(() => new Clock('me', 'nonsense'));
    assert.throws(() => new Clock('not valid!'));
  });
});

describe('ulid', () => {
  it('is 26 characters of Crockford base32 with the time first', () => {
    const id = ulidGenerator(() => 1732212345678)();
    assert.match(id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(id.slice(0, 10), '01JD7YDJTE'); // 1732212345678 in base32
  });

  it('sorts by creation time, and within one millisecond in the order made', () => {
    let now = 1732212345678;
    const next = ulidGenerator(() => now);
    const ids = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 1000 === 0) now += 1;
      if (i === 2500) now -= 10; // a wall clock that goes back does not break the order
      ids.push(next());
    }
    assert.deepEqual(ids.slice().sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });
});
