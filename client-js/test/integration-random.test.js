// Many clients against the real server jar, in a seeded random order: edits, removals, destroys
// and restores of a few documents, each client going offline and back at random. Once all are
// online and settled, every replica (and a client that starts afresh) shows the same documents.
// SYNCLINE_SEED=N replays a run; the seed is in every failure message.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { createClient, memoryStore } from '../src/index.js';
import { openDatabases, startServer } from './support/server.js';
import { rng, until } from './support/util.js';

const SEED = Number(process.env.SYNCLINE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CLIENTS = 4;
const STEPS = 400;
const DOCS = ['a', 'b', 'c', 'd', 'e'];
const ATTRS = ['title', 'done', 'n'];

let server;
const clients = [];

function client() {
  const c = createClient({ url: server.url, store: memoryStore(), backoffInitialMs: 20, backoffMaxMs: 200 });
  clients.push(c);
  return c;
}

/** Every visible document of the collection, as a plain object by id. */
function view(c) {
  const out = {};
  for (const doc of c.db('rand').col('items').all()) out[doc.id] = doc;
  return out;
}

before(async () => {
  server = await startServer({ config: { databases: openDatabases(['rand']) } });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  server?.cleanup();
});

describe('random edits from many clients', () => {
  it(`every replica ends with the same documents (seed ${SEED})`, async () => {
    const next = rng(SEED);
    const pick = (list) => list[Math.floor(next() * list.length)];
    const replicas = Array.from({ length: CLIENTS }, () => client());
    for (const c of replicas) c.db('rand').col('items').all(); // subscribes
    await until(() => replicas.every((c) => c.status.online && c.status.synced.rand !== undefined),
      { what: `all online and synced (seed ${SEED})` });

    const writes = [];
    for (let step = 0; step < STEPS; step++) {
      const c = pick(replicas);
      const doc = c.db('rand').col('items').doc(pick(DOCS));
      const r = next();
      if (r < 0.08) {
        c.offline(!c.status.online ? false : true); // drop off, or come back
      } else if (r < 0.13) {
        writes.push(doc.destroy());
      } else if (r < 0.17) {
        writes.push(doc.restore());
      } else {
        const attr = pick(ATTRS);
        const value = next() < 0.15 ? null : attr === 'done' ? next() < 0.5 : attr === 'n' ? Math.floor(next() * 100) : `t${step}`;
        writes.push(doc.set({ [attr]: value }));
      }
      if (step % 25 === 0) await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * 20)));
    }
    await Promise.all(writes);
    for (const c of replicas) c.offline(false);
    await until(() => replicas.every((c) => c.status.online && c.status.pending === 0),
      { what: `every edit recorded by the server (seed ${SEED})`, timeout: 30_000 });

    const fresh = client();
    fresh.db('rand').col('items').all();
    await until(() => fresh.status.online && fresh.status.synced.rand !== undefined, { what: `a fresh client synced (seed ${SEED})` });
    const truth = view(fresh);
    await until(() => replicas.every((c) => isDeepStrictEqual(view(c), truth)), { // key order aside
      what: `every replica to show the server's documents (seed ${SEED})`,
      detail: () => `${JSON.stringify(truth)} / ${replicas.map((c) => JSON.stringify(view(c))).join(' / ')}`,
      timeout: 30_000,
    });
    for (const c of replicas) assert.deepEqual(view(c), truth, `seed ${SEED}`);
  });
});
