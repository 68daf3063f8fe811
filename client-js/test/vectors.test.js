// Runs every case of ../../sync-protocol/vectors/*.json that applies to a client, reported as
// file / section / name. A file or section this runner does not know fails the run, so a typo
// or a new section can't quietly skip cases.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  Clock, checkDelta, compareTimestamps, compareValues, decide, decodeServer, DEFAULT_LIMITS, encodeClient,
  formatTimestamp, isOrigin, isTimestamp, parseTimestamp, timestampFault, visible,
} from '../src/index.js';
import { encodeServer } from '../src/codec.js';
import { Replica } from '../src/replica.js';
import { jsonEqual } from '../src/values.js';

const VECTORS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'sync-protocol', 'vectors');

function limitsOf(testCase) {
  const limits = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(testCase.limits ?? {})) {
    if (!(k in DEFAULT_LIMITS)) throw new Error(`unknown limit ${k} in the vector`);
    limits[k] = v;
  }
  return limits;
}

function assertJsonEqual(actual, expected, message) {
  assert.ok(jsonEqual(actual, expected), `${message ?? 'JSON values differ'}\n  actual:   ${JSON.stringify(actual)}\n  expected: ${JSON.stringify(expected)}`);
}

const sign = (n) => (n < 0 ? -1 : n > 0 ? 1 : 0);

// ---- hlc.json ----
const hlc = {
  valid(c) {
    assert.ok(isTimestamp(c.ts));
    assert.deepEqual(parseTimestamp(c.ts), { ms: c.ms, counter: c.counter, origin: c.origin });
    assert.equal(formatTimestamp(c.ms, c.counter, c.origin), c.ts);
  },
  invalid(c) {
    assert.equal(isTimestamp(c.ts), false);
    assert.throws(() => parseTimestamp(c.ts));
    if (c.part) assert.ok(timestampFault(c.ts).startsWith(`ts: ${c.part}`), `names ts: ${c.part}: ${timestampFault(c.ts)}`);
  },
  order(c) {
    assert.equal(sign(compareTimestamps(c.a, c.b)), c.cmp);
    assert.equal(sign(compareTimestamps(c.b, c.a)), 0 - c.cmp || 0);
    assert.equal(c.a < c.b ? -1 : c.a > c.b ? 1 : 0, c.cmp, 'plain string order agrees');
    const a = parseTimestamp(c.a);
    const b = parseTimestamp(c.b);
    const tuple = sign(a.ms - b.ms) || sign(a.counter - b.counter) || (a.origin < b.origin ? -1 : a.origin > b.origin ? 1 : 0);
    assert.equal(tuple, c.cmp, '(ms, counter, origin) order agrees');
  },
  origins(c) {
    assert.equal(isOrigin(c.origin), c.valid);
  },
  clock(c) {
    const clock = new Clock(c.origin);
    assert.equal(clock.state, '0000000000000-0000');
    for (const [i, step] of c.steps.entries()) {
      if (step.op === 'tick') assert.equal(clock.tick(step.now), step.ts, `step ${i}: tick`);
      else if (step.op === 'receive') clock.receive(step.ts);
      else throw new Error(`unknown op ${step.op}`);
      assert.equal(clock.state, step.state, `step ${i}: state`);
    }
  },
};

// ---- merge.json ----
const merge = {
  decide(c) {
    // absent values are null, as in the cases written before values took part
    const stored = c.storedValue ?? null;
    const incoming = c.incomingValue ?? null;
    assert.equal(decide(c.stored, stored, c.incoming, incoming), c.outcome);
    if (c.stored === c.incoming) {
      const order = { applied: 1, duplicate: 0, superseded: -1 }[c.outcome];
      assert.equal(compareValues(incoming, stored), order, 'compareValues agrees');
      assert.equal(compareValues(stored, incoming), 0 - order || 0, 'compareValues is antisymmetric');
    }
  },
  sequences(c) {
    const replica = new Replica();
    const outcomes = c.deltas.map((d) => replica.mergeConfirmed('db', d));
    assert.deepEqual(outcomes, c.outcomes);
    const key = (r) => [r.col, r.id, r.attr];
    const cmp = (a, b) => {
      const [x, y] = [key(a), key(b)];
      for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      return 0;
    };
    assertJsonEqual(replica.registersOf('db').sort(cmp), c.registers, 'registers');
    if (c.visible) {
      replica.refresh();
      for (const [col, docs] of Object.entries(c.visible)) {
        for (const [id, doc] of Object.entries(docs)) {
          const view = replica.doc('db', col, id);
          assertJsonEqual(view, doc === null ? null : { ...doc, id }, `visible ${col}/${id}`);
        }
      }
      const seen = new Set(replica.registersOf('db').map((r) => `${r.col}/${r.id}`));
      const listed = Object.entries(c.visible).flatMap(([col, docs]) => Object.keys(docs).map((id) => `${col}/${id}`));
      assert.deepEqual([...seen].sort(), listed.sort(), 'visible lists every document with a register');
    }
  },
};

// ---- visibility.json ----
const visibility = {
  cases(c) {
    assertJsonEqual(visible(c.registers), c.visible);
    const replica = new Replica();
    for (const [attr, { value, ts }] of Object.entries(c.registers)) replica.mergeConfirmed('db', { col: 'c', id: 'd', attr, value, ts });
    replica.refresh();
    assertJsonEqual(replica.doc('db', 'c', 'd'), c.visible === null ? null : { ...c.visible, id: 'd' }, 'replica view');
  },
};

// ---- codec.json ----
// A client does not decode client messages; it encodes them. Encoding the normal form must give
// a message that reads back as the same normal form.
function normalForm(m) {
  const out = { type: m.type, rid: m.rid ?? null };
  switch (m.type) {
    case 'hello': Object.assign(out, { protocol: m.protocol, clientId: m.clientId, token: m.token ?? null }); break;
    case 'login': Object.assign(out, { username: m.username, password: m.password }); break;
    case 'sub':
      Object.assign(out, { db: m.db, cols: m.cols ?? null, since: m.since ?? 0 });
      if (m.epoch != null) out.epoch = m.epoch;
      break;
    case 'unsub': out.sid = m.sid; break;
    case 'push':
      Object.assign(out, { db: m.db, deltas: m.deltas });
      if (m.w != null) out.w = m.w;
      break;
    case 'admin': Object.assign(out, { op: m.op, args: m.args ?? {} }); break;
    case 'ping': break;
    default: throw new Error(`unknown type ${m.type}`);
  }
  return out;
}

const codec = {
  decode(c) {
    const text = encodeClient(c.expect);
    assertJsonEqual(normalForm(JSON.parse(text)), c.expect);
    if (c.expect.type === 'push') {
      for (const d of c.expect.deltas) assert.equal(checkDelta(d, limitsOf(c)), null, `our check accepts ${JSON.stringify(d).slice(0, 80)}`);
    }
  },
  server(c) {
    const decoded = decodeServer(JSON.stringify(c.message));
    assert.ok(decoded, 'decodes');
    assertJsonEqual(JSON.parse(encodeServer(decoded)), c.message);
  },
};

// ---- reject.json ----
// `messages` are whole client messages a server refuses: this SDK never builds such a message
// (its names, values and batches are checked before sending), and it has no decoder to run
// them through. `pushes` are per-delta refusals: the SDK's own check must refuse exactly those
// deltas, with the same code, so nothing it sends can be refused.
const reject = {
  messages: null,
  pushes(c) {
    const message = c.text !== undefined ? JSON.parse(c.text) : c.message;
    const limits = limitsOf(c);
    assert.equal(message.deltas.length, c.results.length);
    message.deltas.forEach((d, i) => {
      const problem = checkDelta(d, limits);
      const expected = c.results[i];
      if (expected === 'ok') {
        assert.equal(problem, null, `delta ${i} passes`);
      } else {
        assert.ok(problem, `delta ${i} is refused`);
        assert.equal(problem.code, expected.error, `delta ${i} code`);
        if (expected.field) assert.ok(problem.message.includes(expected.field), `delta ${i}: "${problem.message}" names ${expected.field}`);
      }
    });
  },
};

const RUNNERS = { 'hlc.json': hlc, 'merge.json': merge, 'visibility.json': visibility, 'codec.json': codec, 'reject.json': reject };

const files = readdirSync(VECTORS).filter((f) => f.endsWith('.json')).sort();

describe('vectors', () => {
  it('every vector file is known', () => {
    assert.deepEqual(files.filter((f) => !RUNNERS[f]), []);
    assert.deepEqual(Object.keys(RUNNERS).filter((f) => !files.includes(f)), [], 'a known file is missing');
  });

  for (const file of files) {
    const runner = RUNNERS[file];
    if (!runner) continue;
    const doc = JSON.parse(readFileSync(join(VECTORS, file), 'utf8'));
    describe(file, () => {
      for (const [section, cases] of Object.entries(doc)) {
        if (section === 'description') continue;
        if (!(section in runner)) {
          it(`${section}: unknown section`, () => assert.fail(`${file} has a section ${section} this runner does not know`));
          continue;
        }
        if (runner[section] === null) continue; // a server-side section: the Java VectorsTest runs it
        describe(section, () => {
          const names = new Set();
          for (const testCase of cases) {
            assert.ok(!names.has(testCase.name), `duplicate case name ${testCase.name}`);
            names.add(testCase.name);
            it(testCase.name, () => runner[section](testCase));
          }
        });
      }
    });
  }
});
