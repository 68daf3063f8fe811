// Sign-in against the real server jar: login and the token kept across a restart of the client,
// a wrong password, logout, forbidden reads and writes, renewal, refused tokens (forged, expired,
// user disabled), sign-up. Users and policies come from the server's config file. The server
// gives tokens at least a minute; to test renewal and expiry in seconds, the test signs tokens
// itself with the server's configured jwtSecret.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createClient, indexedDbStore, memoryStore } from '../src/index.js';
import { WebSocket } from 'ws';
import { admin } from './support/raw.js';
import { startServer } from './support/server.js';
import { recordEvents, rng, sleep, until } from './support/util.js';

/** SYNCLINE_SEED=N replays the random test below; the seed is in its name and its failures. */
const SEED = Number(process.env.SYNCLINE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const SIGNED_IN = ['$user'];
const JWT_SECRET = 'a-signing-secret-for-the-integration-tests';
const CONFIG = {
  signup: true,
  jwtSecret: JWT_SECRET,
  users: [
    { username: 'alice', password: 'alice-password', roles: ['editor'] },
    { username: 'bob', password: 'bob-password', roles: [] },
    { username: 'carol', password: 'carol-password', roles: [] },
    { username: 'erin', password: 'erin-password', roles: [] },
  ],
  databases: [
    // Only signed-in users may read or write.
    { name: 'private', policy: { read: SIGNED_IN, create: SIGNED_IN, update: SIGNED_IN, destroy: SIGNED_IN } },
    // Everyone reads; signed-in users create; only a document's owner changes it.
    { name: 'owned', policy: { read: ['$all'], create: SIGNED_IN, update: ['$owner'], destroy: ['$owner'] } },
  ],
};
let server;
const clients = [];

function client(url, options = {}) {
  const c = createClient({ url, backoffInitialMs: 50, backoffMaxMs: 500, ...options });
  clients.push(c);
  return c;
}

/**
 * The user's password stamp (`pwv`) as the server puts it in its tokens: a token made by hand
 * must carry it. Learned from a real sign-in over HTTP.
 */
async function stampOf(user) {
  const password = CONFIG.users.find((u) => u.username === user).password;
  const res = await fetch(server.url.replace(/^ws/, 'http').replace(/\/sync$/, '/auth/login'), {
    method: 'POST', body: JSON.stringify({ username: user, password }),
  });
  const { token } = await res.json();
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()).pwv;
}

/**
 * A token for `user` signed as the server signs them (HS256, issuer syncline), expiring in
 * `expiresInMs` (negative: already expired). Returns the record a store keeps for it.
 */
async function signedToken(user, expiresInMs, roles = []) {
  const pwv = await stampOf(user); // first: a sign-in takes a while, and the token's lifetime starts after it
  const now = Date.now();
  const exp = Math.floor((now + expiresInMs) / 1000);
  const part = (json) => Buffer.from(JSON.stringify(json)).toString('base64url');
  const claims = { sub: user, pwv, iss: 'syncline', iat: Math.floor(now / 1000) - 1, exp };
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  const signature = createHmac('sha256', JWT_SECRET).update(unsigned).digest('base64url');
  return { token: `${unsigned}.${signature}`, expiresAt: exp * 1000, issuedAt: now, user: { id: user, roles } };
}

/** The JWT with its claims changed to name alice as an admin, and bob's signature kept. */
function forge(token) {
  const [header, payload, signature] = token.split('.');
  let claims;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  } catch {
    claims = {};
  }
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'alice', roles: ['admin'] })).toString('base64url');
  return `${header}.${forged}.${signature}`;
}

const events = (log, name) => log.filter((e) => e.name === name).map((e) => e.payload);
const settled = (c) => c.status.online && c.status.pending === 0;
const ALL = ['auth', 'connect', 'error', 'doc:record'];

before(async () => {
  server = await startServer({ config: CONFIG });
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await server?.stop();
  server?.cleanup();
});

describe('integration: sign-in', () => {
  it('login signs the connection in; a client restarted on the store is signed in by hello.token', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('signed-in', { indexedDB: factory, IDBKeyRange });
    const first = client(server.url, { store: store() });
    const log = recordEvents(first, ALL);
    await until(() => first.status.online, { what: 'connected' });
    assert.equal(first.user, null);
    assert.deepEqual(events(log, 'connect')[0].user, null);
    const user = await first.login('alice', 'alice-password');
    assert.deepEqual(user, { id: 'alice', roles: ['editor'] });
    assert.deepEqual(events(log, 'auth'), [{ user }]);
    const doc = first.db('private').col('notes').doc('n1');
    await doc.set({ text: 'only for signed-in users' });
    await until(() => settled(first) && first.status.synced.private !== undefined, { what: 'the note recorded' });
    assert.equal(doc.get().$owner, 'alice', 'the server wrote $owner');
    // a document read back with its $owner is written back with a change: $owner is not an edit
    await doc.set({ ...doc.get(), text: 'edited as read' });
    await until(() => settled(first), { what: 'the edit recorded' });
    assert.deepEqual(doc.get(), { id: 'n1', text: 'edited as read', $owner: 'alice' });
    await assert.rejects(doc.set({ $owner: 'bob' }), { code: 'bad_request' }); // another owner is still refused
    assert.deepEqual(events(log, 'error'), []);
    const stored = await store().load();
    assert.equal(stored.auth.user.id, 'alice');
    assert.ok(stored.auth.expiresAt > Date.now());
    await first.close();

    const second = client(server.url, { store: store() });
    const log2 = recordEvents(second, ALL);
    second.db('private');
    await second.ready;
    assert.deepEqual(second.user, user, 'signed in from the store');
    await until(() => second.status.online, { what: 'reconnected' });
    assert.deepEqual(events(log2, 'connect')[0].user, user, 'welcome.user from the stored token');
    await until(() => second.status.synced.private !== undefined, { what: 'private readable' });
    assert.equal(second.db('private').col('notes').doc('n1').get().text, 'edited as read');
    assert.deepEqual(events(log2, 'error'), []);
  });

  it('after a login, every reconnect sends the token again in hello.token, and the server signs the connection in', async () => {
    const hellos = [];
    class RecordingWebSocket extends WebSocket {
      send(data) {
        const m = JSON.parse(data);
        if (m.type === 'hello') hellos.push(m);
        super.send(data);
      }
    }
    const c = client(server.url, { WebSocket: RecordingWebSocket });
    const log = recordEvents(c, ALL);
    await until(() => c.status.online, { what: 'connected' });
    const user = await c.login('carol', 'carol-password');
    for (let i = 1; i <= 2; i++) {
      c.offline(true);
      c.offline(false);
      await until(() => events(log, 'connect').length === i + 1, { what: `reconnect ${i}` });
    }
    assert.equal(hellos.length, 3);
    assert.equal(hellos[0].token, undefined, 'anonymous at first');
    assert.deepEqual(c.user, user);
    for (const hello of hellos.slice(1)) assert.ok(typeof hello.token === 'string' && hello.token.length > 0, 'the token sent again');
    assert.deepEqual(events(log, 'connect').map((e) => e.user), [null, user, user], 'welcome.user: signed in by the token alone');
  });

  it('a wrong password is refused with unauthenticated; the client stays anonymous', async () => {
    const c = client(server.url);
    const log = recordEvents(c, ALL);
    await until(() => c.status.online);
    await assert.rejects(c.login('carol', 'not-her-password'), (e) => {
      assert.equal(e.name, 'SynclineError');
      assert.equal(e.code, 'unauthenticated');
      return true;
    });
    await assert.rejects(c.login('nobody-of-that-name', 'whatever-password'), { code: 'unauthenticated' });
    assert.equal(c.user, null);
    assert.deepEqual(events(log, 'auth'), []);
    assert.ok(c.status.online, 'the connection stays');
  });

  it('an anonymous client may read nothing in private (forbidden, once), and subscribes after login', async () => {
    const c = client(server.url);
    const log = recordEvents(c, ALL);
    c.db('private');
    await until(() => events(log, 'error').length > 0, { what: 'the forbidden sub' });
    assert.deepEqual(events(log, 'error').map((e) => [e.code, e.db]), [['forbidden', 'private']]);
    await sleep(300);
    assert.equal(events(log, 'error').length, 1, 'not retried in a loop');
    await c.login('bob', 'bob-password');
    await until(() => c.status.synced.private !== undefined, { what: 'subscribed after login' });
    await until(() => c.db('private').col('notes').doc('n1').get(), { what: 'alice\'s note' });
  });

  it('forbidden writes are dropped, reported and reverted to the server\'s state', async () => {
    const alice = client(server.url);
    await alice.login('alice', 'alice-password');
    const mine = alice.db('owned').col('posts').doc('p1');
    await mine.set({ title: 'by alice' });
    await until(() => settled(alice), { what: 'alice\'s post recorded' });

    const bob = client(server.url);
    await bob.login('bob', 'bob-password');
    const log = recordEvents(bob, ['error', 'doc:update', 'doc:record']);
    const theirs = bob.db('owned').col('posts').doc('p1');
    await until(() => theirs.get()?.title === 'by alice', { what: 'bob to read it' });
    assert.equal(theirs.get().$owner, 'alice');
    await theirs.set({ title: 'taken over by bob' });
    assert.equal(theirs.get().title, 'taken over by bob', 'applied locally at once');
    await until(() => settled(bob), { what: 'the refusal' });
    assert.equal(theirs.get().title, 'by alice', 'reverted');
    assert.deepEqual(events(log, 'error').map((e) => [e.code, e.db, e.col, e.id, e.attr]), [['forbidden', 'owned', 'posts', 'p1', 'title']]);
    assert.deepEqual(events(log, 'doc:update').map((e) => [e.doc.title, e.local]), [['taken over by bob', true], ['by alice', false]]);
    assert.deepEqual(events(log, 'doc:record'), []);

    // Anonymous: may read, may not create.
    const anon = client(server.url);
    const anonLog = recordEvents(anon, ['error']);
    await until(() => anon.db('owned').col('posts').doc('p1').get(), { what: 'anonymous read' });
    await anon.db('owned').col('posts').doc('p2').set({ title: 'anonymous' });
    await until(() => settled(anon));
    assert.equal(anon.db('owned').col('posts').doc('p2').get(), null);
    assert.deepEqual(events(anonLog, 'error').map((e) => [e.code, e.id]), [['forbidden', 'p2']]);
  });

  it('logout drops the local data and the unsent edits, and reconnects anonymously', async () => {
    const store = memoryStore();
    const c = client(server.url, { store });
    await c.login('alice', 'alice-password');
    const col = c.db('private').col('notes');
    await col.doc('sent').set({ text: 'recorded' });
    await until(() => settled(c) && c.status.synced.private !== undefined);
    c.offline(true);
    await until(() => !c.status.online);
    await col.doc('unsent').set({ text: 'never pushed' });
    const log = recordEvents(c, ALL);
    await c.logout();
    assert.equal(c.user, null);
    assert.deepEqual(events(log, 'auth'), [{ user: null }]);
    assert.deepEqual(col.all(), []);
    assert.equal(c.status.pending, 0);
    const stored = await store.load();
    assert.deepEqual([stored.auth, stored.owner, stored.registers, stored.pending, stored.cursors], [null, null, [], [], {}]);

    c.offline(false);
    await until(() => c.status.online, { what: 'the anonymous connection' });
    assert.deepEqual(events(log, 'connect').map((e) => e.user), [null]);
    await until(() => events(log, 'error').some((e) => e.code === 'forbidden' && e.db === 'private'), { what: 'private forbidden now' });
    assert.deepEqual(col.all(), []);

    const reader = client(server.url);
    await reader.login('bob', 'bob-password');
    await until(() => reader.db('private').col('notes').doc('sent').get(), { what: 'bob to see the recorded note' });
    assert.equal(reader.db('private').col('notes').doc('unsent').get(), null, 'the unsent edit never reached the server');
  });

  it('signup creates a user and signs in; a taken name or short password is bad_request', async () => {
    const c = client(server.url);
    const user = await c.signup('dave', 'dave-password');
    assert.equal(user.id, 'dave');
    assert.equal(c.user.id, 'dave');
    await assert.rejects(c.signup('dave', 'dave-password-2'), { code: 'bad_request' });
    await assert.rejects(c.signup('frank', 'short'), { code: 'bad_request' });
    assert.equal(c.user.id, 'dave', 'a refused signup changes nothing');
  });

  it('a user disabled by an admin is signed out: unauthenticated, then anonymous', async () => {
    const c = client(server.url);
    await c.login('erin', 'erin-password');
    c.db('private');
    await until(() => c.status.synced.private !== undefined);
    const log = recordEvents(c, ALL);
    await admin(server.url, 'user.update', { username: 'erin', disabled: true });
    await until(() => c.user === null && c.status.online, { what: 'the anonymous reconnect' });
    assert.deepEqual(events(log, 'auth'), [{ user: null }]);
    assert.ok(events(log, 'error').some((e) => e.code === 'unauthenticated'), JSON.stringify(events(log, 'error')));
    assert.deepEqual(events(log, 'connect').at(-1).user, null);
    await assert.rejects(c.login('erin', 'erin-password'), (e) => ['unauthenticated', 'forbidden'].includes(e.code));
  });

  it('a forged stored token: the client forgets it, keeps its data and reconnects anonymously', async () => {
    const store = memoryStore();
    const first = client(server.url, { store });
    await first.login('bob', 'bob-password');
    await first.db('owned').col('posts').doc('b1').set({ title: 'by bob' });
    await until(() => settled(first));
    await first.close();
    const { auth } = await store.load();
    await store.write({ auth: { ...auth, token: forge(auth.token) } });

    const second = client(server.url, { store });
    const log = recordEvents(second, ALL);
    await until(() => second.status.online, { what: 'the anonymous connection' });
    assert.equal(second.user, null);
    assert.deepEqual(events(log, 'auth').map((e) => e.user?.id ?? null), ['bob', null]);
    assert.deepEqual(events(log, 'error').map((e) => e.code), ['unauthenticated']);
    assert.deepEqual(events(log, 'connect').map((e) => e.user), [null]);
    assert.equal((await store.load()).auth, null);
    assert.equal(second.db('owned').col('posts').doc('b1').get().title, 'by bob', 'the data stays');
  });

  it('a token the test signed like the server is accepted at hello', async () => {
    const store = memoryStore();
    await store.write({ auth: await signedToken('carol', 600_000), owner: 'carol' });
    const c = client(server.url, { store });
    const log = recordEvents(c, ALL);
    await until(() => c.status.online);
    assert.deepEqual(events(log, 'connect')[0].user, { id: 'carol', roles: [] });
    assert.deepEqual(events(log, 'error'), []);
  });

  it('renewal: when half of the token\'s lifetime is left, the client renews it, and stays signed in past the first expiry', async () => {
    const LIFETIME_MS = 4000;
    const store = memoryStore();
    const first = await signedToken('alice', LIFETIME_MS, ['editor']);
    await store.write({ auth: first, owner: 'alice' });
    const c = client(server.url, { store });
    const log = recordEvents(c, ALL);
    await until(() => c.status.online);
    assert.equal(c.user.id, 'alice');
    const start = Date.now();
    await until(async () => (await store.load()).auth.expiresAt > first.expiresAt, { what: 'a renewed token', timeout: LIFETIME_MS });
    assert.ok(Date.now() - start >= LIFETIME_MS / 2 - 1500, `renewed at half of the lifetime, not at once (${Date.now() - start} ms)`);
    const renewed = (await store.load()).auth;
    assert.notEqual(renewed.token, first.token);
    assert.ok(renewed.expiresAt >= Date.now() + 50_000, 'the server\'s own lifetime (at least a minute)');
    // Past the first token's expiry the connection is still alice's: the server took the new one.
    await sleep(Math.max(0, first.expiresAt - Date.now()) + 1000);
    assert.equal(c.user?.id, 'alice');
    assert.ok(c.status.online);
    assert.deepEqual(events(log, 'error'), []);
    assert.equal(events(log, 'connect').length, 1, 'never reconnected');
  });

  it('an expired stored token: unauthenticated at hello, then anonymous, data kept', async () => {
    const store = memoryStore();
    await store.write({
      auth: await signedToken('bob', -5000),
      owner: 'bob',
      registers: [{ db: 'owned', col: 'posts', id: 'kept', attr: 't', value: 1, ts: '0000000000001-0000-dev' }],
    });
    const c = client(server.url, { store });
    const log = recordEvents(c, ALL);
    await until(() => c.status.online, { what: 'the anonymous connection' });
    assert.equal(c.user, null);
    assert.deepEqual(events(log, 'auth').map((e) => e.user?.id ?? null), ['bob', null]);
    assert.deepEqual(events(log, 'error').map((e) => e.code), ['unauthenticated']);
    assert.deepEqual(events(log, 'connect').map((e) => e.user), [null]);
    assert.equal((await store.load()).auth, null);
    assert.equal((await store.load()).owner, 'bob');
  });

  it('tabs: a renewal the server answers in one tab while the other logs out signs no one back in', async () => {
    const factory = new IDBFactory();
    const store = () => indexedDbStore('renewal-vs-logout', { indexedDB: factory, IDBKeyRange });
    const token = await signedToken('carol', 600_000);
    await store().write({ auth: { ...token, issuedAt: Date.now() - 600_000 }, owner: 'carol' }); // due: renewed at welcome
    const held = [];
    class HoldingRenew extends WebSocket { // tab 1's renew reaches the server when the test says
      send(data) {
        if (JSON.parse(data).type === 'renew') held.push(() => super.send(data));
        else super.send(data);
      }
    }
    const tab1 = client(server.url, { store: store(), WebSocket: HoldingRenew });
    let delay = 0;
    const slow = store();
    const tab2 = client(server.url, { store: { ...slow, write: (batch) => sleep(delay).then(() => slow.write(batch)) } });
    await until(() => tab1.status.online && tab2.status.online && held.length === 1, { what: 'both tabs signed in, tab 1 renewing' });
    await until(async () => (await store().load()).auth.token !== token.token, { what: 'tab 2\'s renewal stored' });
    await sleep(100);
    const log2 = recordEvents(tab2, ['auth', 'connect']);
    delay = 200; // tab 2's store writes take this long now (a busy IndexedDB)
    const loggedOut = tab2.logout();
    held.shift()(); // tab 1's renew goes while tab 2 signs out
    await loggedOut;
    await sleep(500);
    assert.deepEqual(events(log2, 'auth').map((e) => e.user?.id ?? null), [null], 'tab 2 signed in again after its logout');
    assert.equal(tab2.user, null);
    assert.equal(tab1.user, null);
  });

  it(`tabs: two tabs signing in at once as two users both end as the one stored last, as a reload is (seed ${SEED})`, async () => {
    const next = rng(SEED);
    for (let round = 0; round < 6; round++) {
      const factory = new IDBFactory();
      const store = () => indexedDbStore(`at-once-${SEED}-${round}`, { indexedDB: factory, IDBKeyRange });
      // each tab's store writes take a random while (a busy IndexedDB), so either sign-in may land last
      const slowed = (ms) => {
        const s = store();
        return { ...s, write: (batch) => sleep(ms).then(() => s.write(batch)) };
      };
      const tabs = [client(server.url, { store: slowed(Math.floor(next() * 60)) }), client(server.url, { store: slowed(Math.floor(next() * 60)) })];
      const where = `seed ${SEED}, round ${round}`;
      await until(() => tabs.every((t) => t.status.online), { what: `both tabs online (${where})` });
      const [first, second] = next() < 0.5 ? [0, 1] : [1, 0];
      const logins = [tabs[first].login('alice', 'alice-password')];
      if (next() < 0.5) await sleep(Math.floor(next() * 20));
      logins.push(tabs[second].login('bob', 'bob-password'));
      await Promise.allSettled(logins); // a login the other tab's overtook may end offline (its connection was replaced)
      let last;
      await until(async () => {
        const stored = await store().load();
        last = { stored: stored.auth?.user.id ?? null, owner: stored.owner, tabs: tabs.map((t) => t.user?.id ?? null) };
        return last.stored !== null && last.owner === last.stored && last.tabs.every((id) => id === last.stored);
      }, { what: `both tabs signed in as the user the store holds (${where})`, timeout: 5000, detail: () => JSON.stringify(last) });
      // and their connections are that user's: what each tab creates now is owned by them
      const posts = tabs.map((t, i) => t.db('owned').col('posts').doc(`${SEED}-${round}-${i}`));
      await Promise.all(posts.map((p) => p.set({ text: 'at once' })));
      const owners = () => tabs.map((t) => posts.map((p) => t.db('owned').col('posts').doc(p.id).get()?.$owner ?? null));
      await until(() => tabs.every((t) => t.status.pending === 0) && owners().flat().every((id) => id === last.stored), {
        what: `both tabs' posts owned by ${last.stored} (${where})`, timeout: 5000, detail: () => JSON.stringify(owners()),
      });
      await Promise.all(tabs.map((t) => t.close()));
      const reload = client(server.url, { store: store(), offline: true });
      await reload.ready;
      assert.equal(reload.user?.id, last.stored, `a reload is who the tabs were (${where})`);
      await reload.close();
    }
  });
});
