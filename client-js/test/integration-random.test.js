// Many clients against the real server jar, in a seeded random order: edits, removals, destroys
// and restores of a few documents, each client going offline and back at random. Once all are
// online and settled, every replica (and a client that starts afresh) shows the same documents.
// Then devices with two tabs each on one IndexedDB store (fake-indexeddb), tabs reloaded at random:
// every tab, and every store reloaded online, ends with the server's documents.
// SYNCLINE_SEED=N replays a run; the seed is in every failure message.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createClient, indexedDbStore, memoryStore } from '../src/index.js';
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
function view(c, db = 'rand') {
  const out = {};
  for (const doc of c.db(db).col('items').all()) out[doc.id] = doc;
  return out;
}

before(async () => {
  server = await startServer({ config: { databases: openDatabases(['rand', 'tabs']) } });
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

describe('random edits from tabs sharing stores', () => {
  const DEVICES = 3;
  const TAB_STEPS = 500;

  /** A tab of `device`: a client on its store, following db 'tabs'. */
  function tab(device) {
    const c = createClient({ url: server.url, store: indexedDbStore(device.name, { indexedDB: device.factory, IDBKeyRange }),
      backoffInitialMs: 20, backoffMaxMs: 200 });
    c.on('error', () => {});
    clients.push(c);
    c.db('tabs').col('items').all(); // subscribes
    return c;
  }

  it(`every tab and every store reloaded online ends with the server's documents (seed ${SEED})`, async () => {
    const next = rng(SEED);
    const pick = (list) => list[Math.floor(next() * list.length)];
    const devices = Array.from({ length: DEVICES }, (_, i) => ({ name: `dev${i}-${SEED}`, factory: new IDBFactory() }));
    for (const d of devices) d.tabs = [tab(d), tab(d)];
    await Promise.all(devices.flatMap((d) => d.tabs.map((t) => t.ready)));
    const writes = [];
    for (let step = 0; step < TAB_STEPS; step++) {
      const d = pick(devices);
      const ti = Math.floor(next() * 2);
      const c = d.tabs[ti];
      const doc = c.db('tabs').col('items').doc(pick(DOCS));
      const r = next();
      if (r < 0.05) {
        c.offline(!c.status.online ? false : true);
      } else if (r < 0.08) {
        d.tabs[ti] = tab(d); // a reload: a new tab opens on the store, the old one closes
        c.close();
        await d.tabs[ti].ready;
      } else if (r < 0.12) {
        writes.push(doc.destroy().catch(() => {})); // refused once its tab closed
      } else if (r < 0.15) {
        writes.push(doc.restore().catch(() => {}));
      } else {
        const attr = pick(ATTRS);
        const value = next() < 0.15 ? null : attr === 'done' ? next() < 0.5 : attr === 'n' ? Math.floor(next() * 100) : `t${step}`;
        writes.push(doc.set({ [attr]: value }).catch(() => {}));
      }
      if (step % 20 === 0) await new Promise((resolve) => setTimeout(resolve, Math.floor(next() * 20)));
    }
    await Promise.all(writes);
    const tabs = devices.flatMap((d) => d.tabs);
    for (const c of tabs) c.offline(false);
    await until(() => tabs.every((c) => c.status.online && c.status.pending === 0 && c.status.synced.tabs !== undefined),
      { what: `every edit recorded (seed ${SEED})`, timeout: 30_000,
        detail: () => tabs.map((c) => JSON.stringify(c.status)).join(' ') });
    const fresh = client();
    fresh.db('tabs').col('items').all();
    await until(() => fresh.status.online && fresh.status.synced.tabs !== undefined, { what: `a fresh client synced (seed ${SEED})` });
    const truth = view(fresh, 'tabs');
    await until(() => tabs.every((c) => isDeepStrictEqual(view(c, 'tabs'), truth)), {
      what: `every tab to show the server's documents (seed ${SEED})`,
      detail: () => `${JSON.stringify(truth)} / ${tabs.map((c) => JSON.stringify(view(c, 'tabs'))).join(' / ')}`,
      timeout: 30_000,
    });
    // each store reloaded online: what it resumes from, and the edits it still holds, give the server's documents
    for (const d of devices) {
      await Promise.all(d.tabs.map((c) => c.close()));
      const again = tab(d);
      await until(() => again.status.online && again.status.synced.tabs !== undefined && again.status.pending === 0
        && isDeepStrictEqual(view(again, 'tabs'), truth), {
        what: `store ${d.name} reloaded to show the server's documents (seed ${SEED})`,
        detail: () => `${JSON.stringify(truth)} / ${JSON.stringify(view(again, 'tabs'))}`,
      });
      await again.close();
    }
  });
});
