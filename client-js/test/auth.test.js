// Sign-in without the server jar: the renewal schedule, and the client against an in-process
// fake server (support/fake-server.js) on the memory store and on fake-indexeddb: the token kept
// in the store and sent at hello, renewal, logout dropping the data, a refused token, forbidden
// subscriptions, rate limits, and per-delta refusals and write quorums (push.w, quorum_timeout).
// The sign-in flows against the real server: integration-auth.test.js.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { IDBFactory, IDBKeyRange } from 'fake-indexeddb';
import { createClient, indexedDbStore, memoryStore } from '../src/index.js';
import { DEFAULT_TOKEN_LIFETIME_MS, readTokenRecord, renewDelay } from '../src/auth.js';
import { HELLO_QUIET_MS } from '../src/session.js';
import { fakeServer } from './support/fake-server.js';
import { recordEvents, sleep, until } from './support/util.js';

const URL = 'ws://127.0.0.1:9/sync';
const USERS = () => ({ alice: { password: 'alice-password', roles: ['admin'] }, bob: { password: 'bob-password' } });

const clients = [];
function client(server, options = {}) {
  const c = createClient({ url: URL, WebSocket: server.WebSocket, backoffInitialMs: 10, backoffMaxMs: 50, ...options });
  clients.push(c);
  return c;
}
afterEach(() => Promise.all(clients.splice(0).map((c) => c.close())));

const names = (log, name) => log.filter((e) => e.name === name).map((e) => e.payload);

describe('owner', () => {
  it('owner names whose data the copy holds: the user signed in, still after the token is refused, null once signed out', async () => {
    const server = fakeServer({ users: USERS() });
    const a = client(server);
    try {
      await until(() => a.status.online);
      assert.equal(a.owner, null, 'anonymous data');
      await a.login('alice', 'alice-password');
      assert.equal(a.owner, 'alice');
      server.userOf = () => null; // her token is refused at the next hello
      server.socket.serverClose(1001, 'restarting');
      await until(() => a.user === null, { what: 'the token refused' });
      assert.equal(a.owner, 'alice', 'her data, her pending edits, are still here');
      await a.logout();
      assert.equal(a.owner, null);
    } finally {
      await a.close();
    }
  });
});

describe('tabs and sign-in', () => {
  it('a tab that starts while another signs in as someone else hears of it once loaded, and drops the data it read', async () => {
    const factory = new IDBFactory();
    const name = `early-auth-${++stores}`;
    const store = () => indexedDbStore(name, { indexedDB: factory, IDBKeyRange });
    const server = fakeServer({ users: USERS() });
    const a = client(server, { store: store() });
    await until(() => a.status.online);
    await a.login('alice', 'alice-password');
    await a.db('todo').col('items').doc('x').set({ t: 1 });
    await a.close();
    const b = client(server, { store: store(), offline: true });
    // another tab signs in as bob while b reads the store: it posts what it stored, as tabs do
    const other = new BroadcastChannel(`syncline:${name}`);
    other.postMessage({ kind: 'auth', auth: server.issue('bob'), owner: 'bob', wiped: true });
    other.close();
    await b.ready;
    await sleep(50);
    assert.equal(b.db('todo').col('items').doc('x').get(), null, 'b goes on with alice\'s data');
    assert.equal(b.user?.id, 'bob');
  });

  it('a sign-out is told to the other tabs once its wipe is stored, not before', async () => {
    const factory = new IDBFactory();
    const name = `told-when-stored-${++stores}`;
    const store = () => indexedDbStore(name, { indexedDB: factory, IDBKeyRange });
    let delay = 0;
    const slow = store();
    const server = fakeServer({ users: USERS() });
    const a = client(server, { store: { ...slow, write: (batch) => sleep(delay).then(() => slow.write(batch)) } });
    await until(() => a.status.online);
    await a.login('alice', 'alice-password');
    const b = client(server, { store: store() });
    await until(() => b.status.online && b.user?.id === 'alice', { what: 'the second tab signed in as alice' });
    const heard = new Promise((resolve) => b.on('auth', ({ user }) => user === null && resolve(Date.now())));
    delay = 300; // a's store writes take this long now
    const asked = Date.now();
    await a.logout();
    assert.ok(await heard - asked >= 280, 'not before the wipe was stored');
    assert.equal(b.user, null);
  });
});

describe('tabs and sign-in: at the same time', () => {
  /**
   * Two tabs on one store, each with a fake server of its own (one users table: each takes the
   * other's tokens), signed in as alice; tab 1's renewals are held until released.
   */
  async function aliceInTwoTabs(name, { tab1Store = (s) => s } = {}) {
    const users = USERS();
    const server1 = fakeServer({ users, tokenLifetimeMs: 1000 });
    const server2 = fakeServer({ users, tokenLifetimeMs: 1000 });
    const held = [];
    server1.handle = (m, socket) => (m.type === 'renew' ? held.push(() => server1.standard(m, socket)) : server1.standard(m, socket));
    const factory = new IDBFactory();
    const storeName = `${name}-${++stores}`;
    const store = () => indexedDbStore(storeName, { indexedDB: factory, IDBKeyRange });
    const tab1 = client(server1, { store: tab1Store(store()) });
    const tab2 = client(server2, { store: store() });
    await until(() => tab1.status.online && tab2.status.online);
    await tab1.login('alice', 'alice-password');
    await until(() => tab2.user?.id === 'alice' && tab2.status.online && server2.sent('hello').some((m) => m.token), { what: 'tab 2 signed in as alice' });
    await until(() => held.length === 1, { what: 'tab 1 renewing' });
    return { server1, server2, store, tab1, tab2, answerRenewal: () => held.shift()() };
  }

  it('a renewal answered in one tab while another logs out signs no one back in', async () => {
    const { store, tab1, tab2, answerRenewal } = await aliceInTwoTabs('renewal-vs-logout');
    const log2 = recordEvents(tab2, ['auth']);
    const loggedOut = tab2.logout();
    answerRenewal(); // the server answers tab 1's renew while tab 2 signs out
    await loggedOut;
    await sleep(300);
    assert.deepEqual(names(log2, 'auth').map((e) => e.user?.id ?? null), [null], 'tab 2 signed in again after its logout');
    assert.equal(tab2.user, null);
    assert.equal(tab1.user, null);
    assert.equal((await store().load()).auth, null, 'a reload is signed in after the logout');
  });

  it('a renewal answered in one tab while another signs in as bob: bob stays bob, and his edits are never pushed as alice', async () => {
    let delay = 0;
    const slow = (s) => ({ ...s, write: (batch) => sleep(delay).then(() => s.write(batch)) });
    const { server2, tab1, tab2, answerRenewal } = await aliceInTwoTabs('renewal-vs-login', { tab1Store: slow });
    delay = 300; // tab 1's store takes this long now
    answerRenewal(); // tab 1 gets alice's new token; it is stored, and told to tab 2, 300 ms later
    const user = await tab2.login('bob', 'bob-password');
    assert.equal(user.id, 'bob');
    server2.handle = (m, socket) => (m.type === 'push' ? undefined : server2.standard(m, socket)); // no acks: the edit stays pending
    await tab2.db('todo').col('notes').doc('bobs').set({ text: 'bob\'s' });
    await sleep(800);
    const pushedAs = server2.received
      .filter((m) => m.type === 'push' && m.deltas.some((d) => d.id === 'bobs'))
      .map((p) => server2.userOf(server2.sent('hello', p.on).at(-1)?.token)?.id ?? null);
    assert.deepEqual(pushedAs.filter((id) => id !== 'bob'), [], `bob's edit pushed as ${pushedAs}`);
    assert.equal(tab2.user?.id, 'bob', 'tab 2 is alice again, holding bob\'s edit');
    assert.equal(tab1.user?.id, 'bob');
  });

  it('an edit made after a sign-out in another tab is never pushed as the user who signed out, by a tab storing her renewal meanwhile', async () => {
    let delay = 0;
    let renewing = false;
    const slow = (s) => ({ ...s, write: (batch) => { if (delay && batch.auth) renewing = true; return sleep(delay).then(() => s.write(batch)); } });
    const { server1, tab1, tab2, answerRenewal } = await aliceInTwoTabs('renewal-vs-logout-edit', { tab1Store: slow });
    const pushes = []; // as whom the server commits each push of tab 1's connections
    const handle = server1.handle;
    server1.handle = (m, socket) => {
      if (m.type === 'push') pushes.push({ ids: m.deltas.map((d) => d.id), user: socket.user?.id ?? null });
      return handle(m, socket);
    };
    delay = 300; // tab 1's store takes this long now
    answerRenewal(); // tab 1 gets alice's new token and stores it, 300 ms
    await until(() => renewing, { what: 'tab 1 storing the renewal' });
    await tab2.logout(); // stored and told at once: tab 1 hears it while its renewal is being stored
    await tab2.db('todo').col('notes').doc('after-logout').set({ text: 'anonymous' });
    await until(() => tab1.user === null, { what: 'tab 1 signed out' });
    const pushedAs = pushes.filter((p) => p.ids.includes('after-logout')).map((p) => p.user);
    assert.deepEqual(pushedAs.filter((id) => id !== null), [], `the anonymous edit pushed as ${pushedAs}`);
  });
});

describe('tabs and sign-in: a refusal at the same time', () => {
  it('a renewal refused in one tab while another signs in as bob: bob stays signed in, and his edits stay his', async () => {
    const users = USERS();
    const server1 = fakeServer({ users, tokenLifetimeMs: 1000 });
    const server2 = fakeServer({ users, tokenLifetimeMs: 1000 });
    const held = [];
    // tab 1's renew is refused (alice's token expired, say) when the test says
    server1.handle = (m, socket) => (m.type === 'renew'
      ? held.push(() => socket.reply({ type: 'error', rid: m.rid, code: 'unauthenticated', message: 'token expired' }))
      : server1.standard(m, socket));
    const factory = new IDBFactory();
    const storeName = `refusal-vs-login-${Date.now()}`;
    const store = () => indexedDbStore(storeName, { indexedDB: factory, IDBKeyRange });
    let delay = 0;
    const slow = store();
    const tab1 = client(server1, { store: { ...slow, write: (batch) => sleep(delay).then(() => slow.write(batch)) } });
    const tab2 = client(server2, { store: store() });
    await until(() => tab1.status.online && tab2.status.online);
    await tab1.login('alice', 'alice-password');
    await until(() => tab2.user?.id === 'alice' && tab2.status.online && server2.sent('hello').some((m) => m.token), { what: 'tab 2 signed in as alice' });
    await until(() => held.length === 1, { what: 'tab 1 renewing' });
    delay = 300; // tab 1's store takes this long now
    held.shift()(); // tab 1 is signed out (not wiped: the data stays alice's); stored, and told, 300 ms later
    const user = await tab2.login('bob', 'bob-password');
    assert.equal(user.id, 'bob');
    server2.handle = (m, socket) => (m.type === 'push' ? undefined : server2.standard(m, socket)); // no acks: the edit stays pending
    await tab2.db('todo').col('notes').doc('bobs').set({ text: 'bob\'s' });
    await sleep(800);
    const stored = await store().load();
    // a reload, and alice signs in there: bob's edit must not go as hers
    await Promise.all([tab1.close(), tab2.close()]);
    const server3 = fakeServer({ users });
    const tab3 = client(server3, { store: store() });
    await until(() => tab3.status.online);
    await tab3.login('alice', 'alice-password');
    await sleep(300);
    const pushedAs = server3.received
      .filter((m) => m.type === 'push' && m.deltas.some((d) => d.id === 'bobs'))
      .map((p) => server3.userOf(server3.sent('hello', p.on).at(-1)?.token)?.id ?? server3.socket.user?.id ?? null);
    assert.deepEqual(pushedAs.filter((id) => id !== 'bob'), [], `bob's edit pushed as ${pushedAs} (the store's owner was ${stored.owner})`);
  });
});

describe('renewDelay', () => {
  it('is due once less than half of the lifetime is left', () => {
    const record = { expiresAt: 11_000, issuedAt: 1_000 };
    assert.equal(renewDelay(record, 1_000), 5_000);
    assert.equal(renewDelay(record, 5_999), 1);
    assert.equal(renewDelay(record, 6_000), 0);
    assert.equal(renewDelay(record, 20_000), 0, 'expired: due at once');
  });

  it('takes a 7-day lifetime for a record without issuedAt', () => {
    const now = 1_800_000_000_000;
    assert.equal(renewDelay({ expiresAt: now + DEFAULT_TOKEN_LIFETIME_MS, issuedAt: null }, now), DEFAULT_TOKEN_LIFETIME_MS / 2);
    assert.equal(renewDelay({ expiresAt: now + 86_400_000, issuedAt: null }, now), 0);
  });

  it('a stored record is checked when read back', () => {
    const user = { id: 'alice', roles: ['admin'] };
    assert.deepEqual(readTokenRecord({ token: 't', expiresAt: 5, user }), { token: 't', expiresAt: 5, issuedAt: null, user });
    assert.equal(readTokenRecord({ token: '', expiresAt: 5, user }), null);
    assert.equal(readTokenRecord({ token: 't', expiresAt: 5, user: null }), null);
    assert.equal(readTokenRecord(null), null);
  });
});

let stores = 0;
const backends = {
  memory() {
    const store = memoryStore();
    return () => store;
  },
  'indexedDB (fake-indexeddb)'() {
    // A name of its own: tabs on one name hear each other (BroadcastChannel), across tests too.
    const factory = new IDBFactory();
    const name = `auth-app-${++stores}`;
    return () => indexedDbStore(name, { indexedDB: factory, IDBKeyRange });
  },
};

/** A fake server, a store from `make`, and a client on them, online and signed in as alice. */
async function aliceOnline(make) {
  const server = fakeServer({ users: USERS() });
  const store = make();
  const c = client(server, { store: store() });
  await until(() => c.status.online);
  await c.login('alice', 'alice-password');
  return { server, store, c };
}

for (const [backend, make] of Object.entries(backends)) {
  describe(`sign-in on ${backend}`, () => {
    it('login keeps the token in the store; a reload is signed in at once and sends it at hello', async () => {
      const server = fakeServer({ users: USERS() });
      const store = make();
      const first = client(server, { store: store() });
      const log = recordEvents(first, ['auth', 'connect', 'error']);
      await until(() => first.status.online);
      assert.equal(first.user, null);
      const user = await first.login('alice', 'alice-password');
      assert.deepEqual(user, { id: 'alice', roles: ['admin'] });
      assert.deepEqual(first.user, user);
      assert.deepEqual(names(log, 'auth'), [{ user }]);
      assert.deepEqual(server.sent('login').map((m) => [m.username, m.password]), [['alice', 'alice-password']]);
      const stored = await store().load();
      assert.match(stored.auth.token, /^tok\.alice\./);
      assert.deepEqual(stored.auth.user, user);
      assert.equal(stored.owner, 'alice');
      await first.close();

      const second = client(server, { store: store(), offline: true });
      const log2 = recordEvents(second, ['auth', 'connect']);
      await second.ready;
      assert.deepEqual(second.user, user, 'signed in from the store, before connecting');
      assert.deepEqual(names(log2, 'auth'), [{ user }]);
      second.offline(false);
      await until(() => second.status.online);
      assert.equal(server.sent('hello').at(-1).token, stored.auth.token);
      assert.deepEqual(names(log2, 'connect')[0].user, user);
      assert.deepEqual(names(log, 'error'), []);
    });

    it('renews when half of the token\'s lifetime is left, stores the new one, and again for that one', async () => {
      const server = fakeServer({ users: USERS(), tokenLifetimeMs: 400 });
      const store = make();
      const c = client(server, { store: store() });
      await until(() => c.status.online);
      const loggedInAt = Date.now();
      await c.login('bob', 'bob-password');
      const first = (await store().load()).auth;
      await until(() => server.sent('renew').length === 1, { what: 'the first renew' });
      const renewedAfter = Date.now() - loggedInAt;
      assert.ok(renewedAfter >= 150, `not before half of the lifetime: ${renewedAfter} ms`);
      await until(async () => (await store().load()).auth.expiresAt > first.expiresAt, { what: 'the renewed token stored' });
      await until(() => server.sent('renew').length >= 2, { what: 'the second renew' });
      const latest = (await store().load()).auth;
      assert.notEqual(latest.token, first.token);
      assert.equal(c.user.id, 'bob');
    });

    it('a stored token past half of its lifetime is renewed right after welcome', async () => {
      const server = fakeServer({ users: USERS() });
      const store = make();
      const t = server.issue('alice', 60_000);
      await store().write({ auth: { ...t, issuedAt: Date.now() - 10 * 60_000 }, owner: 'alice' });
      const c = client(server, { store: store() });
      await until(() => server.sent('renew').length === 1, { what: 'the renew' });
      assert.equal(server.sent('hello')[0].token, t.token);
      await until(async () => (await store().load()).auth.token !== t.token, { what: 'the new token stored' });
      assert.equal(c.user.id, 'alice');
    });

    it('logout drops every database and the pending edits, wipes the store and reconnects anonymously', async () => {
      const { server, store, c } = await aliceOnline(make);
      const col = c.db('todo').col('items');
      await col.doc('pushed').set({ t: 1 });
      await until(() => c.status.pending === 0 && c.status.synced.todo !== undefined, { what: 'the push acked' });
      c.offline(true);
      await col.doc('unsent').set({ t: 2 });
      assert.equal(c.status.pending, 1);
      c.offline(false);
      // Hold the next push so that logging out races it.
      server.handle = (m, socket) => (m.type === 'push' ? undefined : server.standard(m, socket));
      await until(() => c.status.online);
      const log = recordEvents(c, ['auth', 'doc:destroy']);
      const sockets = server.sockets.length;
      await c.logout();
      assert.equal(c.user, null);
      assert.deepEqual(names(log, 'auth'), [{ user: null }]);
      assert.deepEqual(names(log, 'doc:destroy').map((e) => e.id).sort(), ['pushed', 'unsent']);
      assert.deepEqual(col.all(), []);
      assert.equal(c.status.pending, 0);
      const stored = await store().load();
      assert.deepEqual([stored.auth, stored.owner, stored.registers, stored.pending, stored.cursors], [null, null, [], [], {}]);
      server.handle = server.standard;
      await until(() => c.status.online && server.sockets.length > sockets, { what: 'the anonymous reconnect' });
      const hello = server.sent('hello').at(-1);
      assert.equal(hello.token, undefined);
      await until(() => c.status.synced.todo !== undefined);
      assert.equal(server.sent('sub').at(-1).since, undefined, 'subscribes from the beginning');
      assert.deepEqual(server.sent('push', server.socket.index), [], 'nothing of alice is pushed');
    });

    it('signing in as another user than the one whose data is stored drops that data first; the same user keeps it', async () => {
      const { server, store, c } = await aliceOnline(make);
      const col = c.db('todo').col('items');
      server.handle = (m, socket) => (m.type === 'push' ? undefined : server.standard(m, socket)); // nothing is acked
      await col.doc('alices').set({ t: 1 });
      await c.login('alice', 'alice-password');
      assert.ok(col.doc('alices').get(), 'the same user keeps the data');
      assert.equal(c.status.pending, 1);

      const sockets = server.sockets.length;
      const user = await c.login('bob', 'bob-password');
      assert.equal(user.id, 'bob');
      assert.equal(col.doc('alices').get(), null);
      assert.equal(c.status.pending, 0);
      const stored = await store().load();
      assert.deepEqual([stored.owner, stored.pending, stored.auth.user.id], ['bob', [], 'bob']);
      await until(() => c.status.online && server.sockets.length > sockets, { what: 'a new connection as bob' });
      assert.match(server.sent('hello').at(-1).token, /^tok\.bob\./);
    });

    it('nothing is pushed between a login as another user and its answer: the server has switched users by then', async () => {
      const { server, c } = await aliceOnline(make);
      const col = c.db('todo').col('items');
      const held = [];
      server.handle = (m, socket) => (m.type === 'push' || m.type === 'login' ? held.push([m, socket]) : server.standard(m, socket));
      await col.doc('first').set({ t: 1 });
      await until(() => held.length === 1, { what: 'alice\'s first push' });
      await col.doc('second').set({ t: 2 }); // waits behind the push in flight
      const login = c.login('bob', 'bob-password');
      await until(() => held.length === 2, { what: 'the login' });
      const [push, pushSocket] = held[0];
      server.standard(push, pushSocket); // the first push is acked before the login's answer
      await sleep(50);
      const afterLogin = server.received.slice(server.received.findIndex((m) => m.type === 'login' && m.rid === held[1][0].rid) + 1);
      assert.deepEqual(afterLogin.filter((m) => m.type === 'push'), [], 'alice\'s second edit was pushed as bob');
      server.handle = (m, socket) => server.standard(m, socket);
      server.standard(...held[1]);
      assert.equal((await login).id, 'bob');
      assert.equal(col.doc('second').get(), null, 'alice\'s edit went with her data');
    });

    it('a listener that logs out while a frame is told of: the frame neither lands in the store nor marks its database synced', async () => {
      const { server, store, c } = await aliceOnline(make);
      const col = c.db('todo').col('items');
      await until(() => c.status.synced.todo !== undefined, { what: 'todo synced' });
      const sub = server.sent('sub').at(-1);
      let loggedOut = null;
      c.on('doc:create', ({ local }) => {
        if (local || loggedOut) return;
        c.offline(true); // no anonymous connection after: it would read the database again, rightly
        loggedOut = c.logout();
      });
      const sid = `s${server.sent('sub').length}`;
      server.socket.reply({ type: 'changes', sid, db: 'todo', seq: 1, deltas: [{ col: 'items', id: 'x', attr: 't', value: 1, ts: '1796600000000-0000-srv', seq: 1 }] });
      await until(() => loggedOut !== null, { what: 'the frame told of' });
      await loggedOut;
      assert.equal(sub.db, 'todo');
      assert.deepEqual(c.status.synced, {}, 'alice\'s database marked synced after she logged out');
      assert.equal(col.doc('x').get(), null);
      const stored = await store().load();
      assert.deepEqual([stored.registers, stored.cursors], [[], {}], 'alice\'s register or cursor stored after the wipe');
    });

    it('a listener that writes when a logout drops the data writes as the next user, and its write is stored after the wipe', async () => {
      const { store, c } = await aliceOnline(make);
      const col = c.db('todo').col('items');
      await col.doc('x').set({ t: 1 });
      c.on('doc:destroy', () => {
        if (!col.doc('settings').get()) col.doc('settings').set({ theme: 'light' });
      });
      c.offline(true);
      await c.logout();
      assert.equal(c.status.pending, 1, 'the listener\'s write is pending');
      const stored = await store().load();
      assert.deepEqual([stored.owner, stored.pending.map((r) => r.id)], [null, ['settings']], 'and stored, for the next user');
    });

    it('a listener that takes the client offline while a frame is told of: its database is not marked synced', async () => {
      const { server, c } = await aliceOnline(make);
      c.db('todo');
      await until(() => c.status.synced.todo !== undefined, { what: 'todo synced' });
      c.on('doc:create', ({ local }) => {
        if (!local) c.offline(true);
      });
      const sid = `s${server.sent('sub').length}`;
      server.socket.reply({ type: 'changes', sid, db: 'todo', seq: 1, deltas: [{ col: 'items', id: 'x', attr: 't', value: 1, ts: '1796600000000-0000-srv', seq: 1 }] });
      await until(() => !c.status.online, { what: 'offline' });
      await sleep(20);
      assert.deepEqual(c.status.synced, {}, 'synced while offline');
    });

    it('a refused login lets what waited go, as the user it was', async () => {
      const { server, c } = await aliceOnline(make);
      const col = c.db('todo').col('items');
      let answerLogin = null;
      server.handle = (m, socket) => {
        if (m.type === 'login') answerLogin = () => socket.reply({ type: 'error', rid: m.rid, code: 'unauthenticated', message: 'wrong username or password' });
        else server.standard(m, socket);
      };
      const login = c.login('bob', 'wrong');
      await until(() => answerLogin !== null, { what: 'the login' });
      await col.doc('meanwhile').set({ t: 1 });
      await sleep(20);
      assert.equal(c.status.pending, 1, 'held while the login is out');
      answerLogin();
      await assert.rejects(login, { code: 'unauthenticated' });
      await until(() => c.status.pending === 0, { what: 'the held edit pushed as alice' });
    });

    it('anonymous edits go with the user who signs in', async () => {
      const server = fakeServer({ users: USERS() });
      const store = make();
      const c = client(server, { store: store(), offline: true });
      await c.ready;
      await c.db('todo').col('items').doc('draft').set({ t: 1 });
      c.offline(false);
      await until(() => c.status.online && c.status.pending === 0, { what: 'the anonymous push' });
      await c.db('todo').col('items').doc('draft2').set({ t: 2 });
      await c.login('alice', 'alice-password');
      await until(() => c.status.pending === 0);
      assert.equal(c.db('todo').col('items').all().length, 2);
      assert.equal((await store().load()).owner, 'alice');
    });

    it('a refused stored token is forgotten, the data kept, and the client reconnects anonymously; the edits wait for their user', async () => {
      const server = fakeServer({ users: USERS() });
      const store = make();
      const expired = server.issue('alice', -1);
      await store().write({ auth: { ...expired, issuedAt: Date.now() - 1000 }, owner: 'alice', pendingPut: [
        { db: 'todo', col: 'items', id: 'mine', attr: 't', value: 1, ts: '0000000000001-0000-dev' },
      ] });
      const c = client(server, { store: store() });
      const log = recordEvents(c, ['auth', 'error', 'connect']);
      await c.ready;
      assert.equal(c.user.id, 'alice');
      await until(() => c.status.online, { what: 'the anonymous connection' });
      assert.equal(c.user, null);
      assert.deepEqual(names(log, 'auth').map((e) => e.user?.id ?? null), ['alice', null]);
      assert.deepEqual(names(log, 'error').map((e) => e.code), ['unauthenticated']);
      assert.deepEqual(server.sent('hello').map((m) => m.token), [expired.token, undefined]);
      assert.deepEqual(names(log, 'connect').map((e) => e.user), [null]);
      const stored = await store().load();
      assert.deepEqual([stored.auth, stored.owner, stored.pending.length], [null, 'alice', 1]);
      assert.ok(c.db('todo').col('items').doc('mine').get(), 'the data stays');
      await sleep(50);
      assert.deepEqual(server.sent('push'), [], 'alice\'s edit is not pushed anonymously');
      assert.equal(c.status.pending, 1);

      await c.login('alice', 'alice-password');
      await until(() => c.status.pending === 0, { what: 'the edit pushed as alice' });
      assert.equal(server.sent('push').length, 1);
    });
  });
}

describe('sign-in: the connection', () => {
  it('a token expiring while connected: unauthenticated, then an anonymous reconnect', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server);
    await until(() => c.status.online);
    await c.login('alice', 'alice-password');
    const log = recordEvents(c, ['auth', 'error', 'disconnect']);
    const socket = server.socket;
    socket.reply({ type: 'error', code: 'unauthenticated', message: 'token expired' });
    socket.serverClose(1008, 'token expired');
    await until(() => c.user === null && c.status.online && server.socket !== socket, { what: 'the anonymous reconnect' });
    assert.deepEqual(names(log, 'error'), [{ code: 'unauthenticated', message: 'token expired' }]);
    assert.deepEqual(names(log, 'auth'), [{ user: null }]);
    assert.equal(server.sent('hello').at(-1).token, undefined);
  });

  it('a hello answered overloaded (a server of the cluster not yet told of this user) is said again on the same socket, with the token', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server);
    await until(() => c.status.online);
    await c.login('alice', 'alice-password');
    const log = recordEvents(c, ['auth', 'error']);
    let refusedAt = 0;
    server.handle = (m, socket) => {
      if (m.type === 'hello' && !refusedAt) {
        refusedAt = Date.now();
        return socket.reply({ type: 'error', rid: m.rid, code: 'overloaded', message: 'token: its user has not reached this server from its peers yet', retryAfterMs: 150 });
      }
      return server.standard(m, socket);
    };
    const first = server.socket;
    first.serverClose(1001, 'going away');
    await until(() => c.status.online && server.socket !== first, { what: 'welcomed on the new socket' });
    const hellos = server.sent('hello', server.socket.index);
    assert.equal(hellos.length, 2, 'two hellos on the one socket');
    assert.ok(hellos.every((h) => h.token === hellos[0].token && h.token), 'both with the token');
    assert.ok(Date.now() - refusedAt >= 140, 'not before retryAfterMs (150 ms)');
    assert.equal(c.user.id, 'alice');
    assert.deepEqual(names(log, 'error'), [], 'nothing to report');
    assert.deepEqual(names(log, 'auth'), [], 'still alice');
  });

  it('a hello refused for longer than a moment (a peer down for long) is told to the app once, and still said again', async () => {
    const server = fakeServer({ users: USERS() });
    let skew = 0; // the client's wall clock, moved by the test
    let refusals = 0;
    let welcome = false;
    server.handle = (m, socket) => {
      if (m.type === 'hello' && !welcome) {
        refusals += 1;
        return socket.reply({ type: 'error', rid: m.rid, code: 'overloaded', message: 'token: its user has not reached this server from its peers yet', retryAfterMs: 20 });
      }
      return server.standard(m, socket);
    };
    const c = client(server, { now: () => Date.now() + skew });
    const log = recordEvents(c, ['error']);
    await until(() => refusals >= 3, { what: 'a few refusals' });
    assert.deepEqual(names(log, 'error'), [], 'quiet for a moment');
    skew += HELLO_QUIET_MS;
    const seen = refusals;
    await until(() => refusals >= seen + 5, { what: 'more refusals' });
    assert.equal(names(log, 'error').length, 1, 'told once');
    assert.equal(names(log, 'error')[0].code, 'overloaded');
    assert.match(names(log, 'error')[0].message, /has not reached this server/);
    welcome = true;
    await until(() => c.status.online, { what: 'welcomed once the server takes it' });
    assert.equal(server.sockets.length, 1, 'one socket all along');
  });

  it('no ping before the welcome while a hello is said again (the server would close: hello first); pings after it', async () => {
    const server = fakeServer({ users: USERS() });
    let refusals = 0;
    server.handle = (m, socket) => {
      if (m.type === 'hello' && refusals < 6) {
        refusals += 1;
        return socket.reply({ type: 'error', rid: m.rid, code: 'overloaded', message: 'its user has not reached this server yet', retryAfterMs: 60 });
      }
      return server.standard(m, socket);
    };
    const c = client(server, { pingIntervalMs: 100, pingTimeoutMs: 1000 });
    await until(() => c.status.online, { what: 'welcomed after six refusals' });
    assert.equal(server.sockets.length, 1, 'one socket all along');
    const welcomedHello = server.received.indexOf(server.sent('hello')[6]); // the seventh, answered with welcome
    assert.deepEqual(server.received.slice(0, welcomedHello).filter((m) => m.type !== 'hello'), [], 'only hellos before the welcome');
    await until(() => server.sent('ping').length > 0, { what: 'a ping once welcomed' });
  });

  it('a login waiting for a connection fails offline at once when the client closes or goes offline', async () => {
    for (const end of ['close', 'offline']) {
      const server = fakeServer({ users: USERS() });
      server.handle = (m, socket) => (m.type === 'hello' ? undefined : server.standard(m, socket)); // never welcomed
      const c = client(server, { connectTimeoutMs: 60_000 });
      await c.ready;
      const login = c.login('alice', 'alice-password');
      await until(() => server.sent('hello').length === 1, { what: 'the hello' });
      const endedAt = Date.now();
      if (end === 'close') c.close();
      else c.offline(true);
      await assert.rejects(login, { code: 'offline' });
      assert.ok(Date.now() - endedAt < 1000, `${end}: not after connectTimeoutMs`);
    }
  });

  it('a login waiting for a connection goes on the next one when a connect listener logs out, not offline', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server);
    await c.login('alice', 'alice-password');
    c.on('connect', ({ user }) => {
      if (user?.id === 'alice') c.logout(); // an app that ends a remembered sign-in when it connects
    });
    server.socket.serverClose(1001, 'going away');
    await until(() => !c.status.online, { what: 'disconnected' });
    const login = c.login('bob', 'bob-password'); // waits for the reconnect
    const user = await login.catch((e) => assert.fail(`login rejected ${e.code}: ${e.message}; online again ${c.status.online}`));
    assert.equal(user.id, 'bob');
    assert.equal(c.user.id, 'bob');
  });

  it('offline(false) while waiting out a backoff connects at once', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server, { backoffInitialMs: 60_000, backoffMaxMs: 60_000 });
    await until(() => c.status.online);
    server.socket.serverClose(1001, 'going away');
    await until(() => !c.status.online);
    await sleep(50); // the backoff (30 to 60 s) is under way
    c.offline(false);
    await until(() => c.status.online && server.sockets.length === 2, { what: 'connected again at once', timeout: 2000 });
  });

  it('a write after close rejects offline', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server);
    await c.ready;
    await c.close();
    await assert.rejects(c.db('todo').col('items').doc('late').set({ t: 1 }), { code: 'offline' });
  });

  it('wrong password and rate limits reject login with the server\'s code; nothing changes', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server);
    const log = recordEvents(c, ['auth', 'error']);
    await until(() => c.status.online);
    await assert.rejects(c.login('alice', 'nope'), { name: 'SynclineError', code: 'unauthenticated', message: 'wrong username or password' });
    server.handle = (m, socket) => (m.type === 'login'
      ? socket.reply({ type: 'error', rid: m.rid, code: 'rate_limited', message: 'too many attempts', retryAfterMs: 30000 })
      : server.standard(m, socket));
    await assert.rejects(c.login('alice', 'alice-password'), { code: 'rate_limited', retryAfterMs: 30000 });
    assert.equal(c.user, null);
    assert.deepEqual(log, [], 'a refused login is the promise\'s to report');
    await assert.rejects(c.login('', 'x'), { code: 'bad_request' });
  });

  it('login while offline rejects with code offline; signup sends signup', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server, { offline: true });
    await assert.rejects(c.login('alice', 'alice-password'), { code: 'offline' });
    c.offline(false);
    const user = await c.signup('carol', 'carol-password');
    assert.deepEqual(user, { id: 'carol', roles: [] });
    assert.equal(server.sent('signup').length, 1);
  });

  it('login waits for a connection in progress, and rejects offline if it drops before the answer', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server);
    assert.equal((await c.login('alice', 'alice-password')).id, 'alice', 'sent once connected');
    server.handle = (m, socket) => (m.type === 'login' ? socket.serverClose(1001) : server.standard(m, socket));
    await assert.rejects(c.login('bob', 'bob-password'), { code: 'offline' });
    assert.equal(c.user.id, 'alice');
  });

  it('a forbidden subscription is reported once, not retried in a loop, and subscribed again after login', async () => {
    const server = fakeServer({ users: USERS() });
    server.handle = (m, socket) => (m.type === 'sub' && !socket.user
      ? socket.reply({ type: 'error', rid: m.rid, code: 'forbidden', message: 'you may read nothing in private' })
      : server.standard(m, socket));
    const c = client(server);
    const log = recordEvents(c, ['error']);
    c.db('private');
    await until(() => names(log, 'error').length === 1, { what: 'the error' });
    assert.deepEqual(names(log, 'error'), [{ code: 'forbidden', message: 'you may read nothing in private', db: 'private' }]);
    await sleep(100);
    assert.equal(server.sent('sub').length, 1, 'no retry on this connection');
    await c.login('bob', 'bob-password');
    await until(() => c.status.synced.private !== undefined, { what: 'the subscription after login' });
    assert.equal(server.sent('sub').length, 2);
  });

  it('rate_limited sub and push are sent again after retryAfterMs, quietly', async () => {
    const server = fakeServer();
    let refuse = { sub: 1, push: 1 };
    server.handle = (m, socket) => {
      if (refuse[m.type] > 0) {
        refuse[m.type] -= 1;
        return socket.reply({ type: 'error', rid: m.rid, code: 'rate_limited', message: 'slow down', retryAfterMs: 120 });
      }
      if (m.type === 'ping') return socket.reply({ type: 'error', code: 'rate_limited', message: 'slow down', retryAfterMs: 120 });
      return server.standard(m, socket);
    };
    const c = client(server);
    const log = recordEvents(c, ['error']);
    const start = Date.now();
    await c.db('todo').col('c').doc('x').set({ v: 1 });
    await until(() => c.status.synced.todo !== undefined && c.status.pending === 0, { what: 'sub and push through' });
    assert.ok(Date.now() - start >= 110, 'waited retryAfterMs');
    assert.equal(server.sent('sub').length, 2);
    assert.equal(server.sent('push').length, 2);
    server.socket.reply({ type: 'error', code: 'rate_limited', message: 'slow down', retryAfterMs: 120 }); // a dropped ping
    await sleep(20);
    assert.deepEqual(log, []);
    refuse = {};
  });

  it('per-delta forbidden: dropped, the document reverts to the server\'s state, and an error event names it', async () => {
    const server = fakeServer();
    server.handle = (m, socket) => (m.type === 'push'
      ? socket.reply({ type: 'ack', rid: m.rid, db: m.db, seq: 0, results: m.deltas.map(() => ({ error: 'forbidden', message: 'you may not create documents in todo' })) })
      : server.standard(m, socket));
    const c = client(server);
    const log = recordEvents(c, ['error', 'doc:destroy']);
    await until(() => c.status.online);
    const doc = c.db('todo').col('c').doc('x');
    await doc.set({ v: 1 });
    await until(() => c.status.pending === 0);
    assert.equal(doc.get(), null);
    assert.deepEqual(names(log, 'error'), [{ code: 'forbidden', message: 'you may not create documents in todo', db: 'todo', col: 'c', id: 'x', attr: 'v' }]);
    assert.deepEqual(names(log, 'doc:destroy').map((e) => [e.id, e.local]), [['x', false]]);
  });

  it('w is sent as push.w on every push, and left out without it; createClient refuses a w outside 1 to 64', async () => {
    for (const bad of [0, -1, 65, 1.5, '2', true]) {
      assert.throws(() => createClient({ url: URL, offline: true, w: bad }), TypeError, `w: ${bad}`);
    }
    const server = fakeServer();
    const c = client(server, { w: 3 });
    await c.db('todo').col('c').doc('x').set({ v: 1 });
    await until(() => c.status.pending === 0);
    await c.db('todo').col('c').doc('y').set({ v: 2 });
    await until(() => c.status.pending === 0);
    assert.deepEqual(server.sent('push').map((m) => m.w), [3, 3]);

    const plain = fakeServer();
    const d = client(plain);
    await d.db('todo').col('c').doc('x').set({ v: 1 });
    await until(() => d.status.pending === 0);
    assert.equal('w' in plain.sent('push')[0], false);
  });

  it('per-delta quorum_timeout: the delta stays pending and is reported with servers, then pushed again until recorded', async () => {
    const server = fakeServer();
    const pushedAt = [];
    server.handle = (m, socket) => {
      if (m.type !== 'push') return server.standard(m, socket);
      pushedAt.push(Date.now());
      const results = pushedAt.length === 1
        ? m.deltas.map((d) => (d.attr === 'a' ? { error: 'quorum_timeout', message: 'held by 1 server(s)', servers: 1 } : 'applied'))
        : m.deltas.map(() => 'duplicate'); // it was stored the first time
      socket.reply({ type: 'ack', rid: m.rid, db: m.db, seq: 1, results });
    };
    const c = client(server, { w: 2 });
    const log = recordEvents(c, ['error', 'doc:record']);
    const doc = c.db('todo').col('c').doc('x');
    await doc.set({ a: 1, b: 2 });
    await until(() => names(log, 'error').length === 1, { what: 'the quorum_timeout event' });
    assert.deepEqual(names(log, 'error'), [{ code: 'quorum_timeout', message: 'held by 1 server(s)', servers: 1, db: 'todo', col: 'c', id: 'x', attr: 'a' }]);
    assert.deepEqual(names(log, 'doc:record').map((e) => [e.attr, e.result]), [['b', 'applied']], 'a is not recorded yet');
    assert.equal(c.status.pending, 1);
    assert.deepEqual(doc.get(), { id: 'x', a: 1, b: 2 });

    await until(() => c.status.pending === 0, { what: 'the resend recorded' });
    assert.equal(pushedAt.length, 2);
    assert.deepEqual(server.sent('push')[1].deltas.map((d) => d.attr), ['a'], 'only the unconfirmed delta goes again');
    assert.ok(pushedAt[1] - pushedAt[0] >= 900, 'after the retry delay, as for overloaded');
    assert.deepEqual(names(log, 'doc:record').map((e) => [e.attr, e.result]), [['b', 'applied'], ['a', 'duplicate']]);
    assert.equal(names(log, 'error').length, 1);
  });

  it('clock_skew without serverTime: stamped again and pushed after the retry delay, not at once', async () => {
    const server = fakeServer();
    const pushed = [];
    server.handle = (m, socket) => {
      if (m.type !== 'push') return server.standard(m, socket);
      pushed.push({ at: Date.now(), ts: m.deltas[0].ts });
      const results = pushed.length === 1 ? [{ error: 'clock_skew', message: 'ahead' }] : ['applied'];
      socket.reply({ type: 'ack', rid: m.rid, db: m.db, seq: 1, results });
    };
    const c = client(server);
    await c.db('todo').col('c').doc('x').set({ a: 1 });
    await until(() => c.status.pending === 0, { what: 'the restamped write recorded' });
    assert.equal(pushed.length, 2);
    assert.ok(pushed[1].ts > pushed[0].ts, 'stamped again');
    assert.ok(pushed[1].at - pushed[0].at >= 900, `after the retry delay, not at once (${pushed[1].at - pushed[0].at} ms)`);
  });

  it('reset stores the epoch it names, not the one of subscribed', async () => {
    const server = fakeServer();
    const store = memoryStore();
    server.handle = (m, socket) => {
      if (m.type !== 'sub') return server.standard(m, socket);
      socket.reply({ type: 'subscribed', rid: m.rid, sid: 's1', db: m.db, head: 1, epoch: 'old' });
      socket.reply({ type: 'reset', sid: 's1', epoch: 'new' });
      socket.reply({ type: 'changes', sid: 's1', db: m.db, seq: 1, deltas: [{ col: 'c', id: 'x', attr: 'v', value: 1, ts: '0000000000001-0000-srv', seq: 1 }] });
      socket.reply({ type: 'synced', sid: 's1', seq: 1 });
    };
    const c = client(server, { store });
    c.db('todo');
    await until(() => c.status.synced.todo === 1);
    await until(async () => (await store.load()).cursors.todo?.epoch === 'new', { what: 'the cursor with the new epoch' });
    assert.deepEqual((await store.load()).cursors.todo, { seq: 1, epoch: 'new' });
    assert.deepEqual(c.db('todo').col('c').doc('x').get(), { id: 'x', v: 1 });
  });

  it('an edit acked while a copy is being collected (held with no cursor) stays at synced: the ack may come before its changes', async () => {
    const server = fakeServer();
    let allowed = false;
    let sub = null;
    const pushes = [];
    server.handle = (m, socket) => {
      if (m.type === 'sub') {
        if (!allowed) return socket.reply({ type: 'error', rid: m.rid, code: 'forbidden', message: 'write-only for now' });
        sub = socket;
        return socket.reply({ type: 'subscribed', rid: m.rid, sid: 's9', db: m.db, head: 1, epoch: 'e1' });
      }
      if (m.type === 'push') {
        pushes.push(m);
        return socket.reply({ type: 'ack', rid: m.rid, db: m.db, seq: pushes.length, results: m.deltas.map(() => 'applied') });
      }
      return server.standard(m, socket);
    };
    const store = memoryStore();
    const c = client(server, { store });
    const doc = c.db('todo').col('c').doc('x');
    await until(() => c.status.online);
    await doc.set({ v: 'a' });
    await until(() => c.status.pending === 0, { what: 'the first edit acked, held with no cursor' });
    allowed = true;
    server.socket.serverClose(1001, 'restart');
    await until(() => sub !== null, { what: 'subscribed again' });
    sub.reply({ type: 'changes', sid: 's9', db: 'todo', seq: 1, deltas: [{ ...pushes[0].deltas[0], seq: 1 }] });
    await doc.set({ v: 'b' }); // its commit raced the last catch-up page: acked at seq 2 before synced at 1
    await until(() => c.status.pending === 0, { what: 'the second edit acked' });
    sub.reply({ type: 'synced', sid: 's9', seq: 1 });
    await until(() => c.status.synced.todo === 1, { what: 'synced' });
    assert.equal(doc.get().v, 'b', 'not put back to the copy collected before the ack');
    await until(async () => (await store.load()).registers.find((r) => r.id === 'x' && r.attr === 'v')?.value === 'b', { what: 'b stored' });
  });

  it('a reset takes the database out of status.synced until its synced: the copy held meanwhile is about to be replaced', async () => {
    const server = fakeServer();
    let sock;
    server.handle = (m, socket) => {
      if (m.type !== 'sub') return server.standard(m, socket);
      sock = socket;
      socket.reply({ type: 'subscribed', rid: m.rid, sid: 's1', db: m.db, head: 0, epoch: 'e1' });
      socket.reply({ type: 'synced', sid: 's1', seq: 0 });
    };
    const c = client(server);
    c.db('todo');
    await until(() => c.status.synced.todo === 0, { what: 'synced at first' });
    // what the server sends when what the user may read changes: reset, the new copy, synced
    sock.reply({ type: 'reset', sid: 's1', epoch: 'e2' });
    sock.reply({ type: 'changes', sid: 's1', db: 'todo', seq: 5, deltas: [{ col: 'c', id: 'x', attr: 'v', value: 1, ts: '0000000000001-0000-srv', seq: 5 }] });
    await until(() => !('todo' in c.status.synced), { what: 'not synced while the reset is caught up' });
    assert.equal(c.db('todo').col('c').doc('x').get(), null, 'the new copy is swapped in whole, at synced');
    sock.reply({ type: 'synced', sid: 's1', seq: 5 });
    await until(() => c.status.synced.todo === 5, { what: 'synced again' });
    assert.deepEqual(c.db('todo').col('c').doc('x').get(), { id: 'x', v: 1 });
  });

  it('welcome with other roles updates the user and the stored record', async () => {
    const users = USERS();
    const server = fakeServer({ users });
    const store = memoryStore();
    const c = client(server, { store });
    await c.login('bob', 'bob-password');
    const log = recordEvents(c, ['auth']);
    users.bob.roles = ['editor'];
    server.socket.serverClose(1001);
    await until(() => c.user?.roles.includes('editor'), { what: 'the new role' });
    assert.deepEqual(names(log, 'auth'), [{ user: { id: 'bob', roles: ['editor'] } }]);
    assert.deepEqual((await store.load()).auth.user.roles, ['editor']);
  });

  it('tabs on one store: a login in one tab signs the other in and reconnects it; logout signs both out', async () => {
    const server = fakeServer({ users: USERS() });
    const factory = new IDBFactory();
    const store = () => indexedDbStore('auth-tabs', { indexedDB: factory, IDBKeyRange });
    const tab1 = client(server, { store: store() });
    const tab2 = client(server, { store: store() });
    await until(() => tab1.status.online && tab2.status.online);
    await tab2.db('todo').col('c').doc('x').set({ v: 1 });
    await until(() => tab1.db('todo').col('c').doc('x').get());
    const log2 = recordEvents(tab2, ['auth']);
    await tab1.login('alice', 'alice-password');
    await until(() => tab2.user?.id === 'alice', { what: 'tab 2 to hear of the login' });
    await until(() => server.sent('hello').filter((m) => m.token).length === 1, { what: 'tab 2 to reconnect with the token' });
    await tab1.logout();
    await until(() => tab2.user === null && tab2.db('todo').col('c').doc('x').get() === null, { what: 'tab 2 to hear of the logout' });
    assert.deepEqual(names(log2, 'auth').map((e) => e.user?.id ?? null), ['alice', null]);
  });
});

describe('a subscription the server ends', () => {
  it('with internal: the database leaves status.synced until it is subscribed again (it is, after retryAfterMs)', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server, { store: memoryStore() });
    c.db('todo');
    await until(() => 'todo' in c.status.synced, { what: 'todo synced' });
    const sid = server.received.filter((m) => m.type === 'sub').length; // the fake's sids count subs: s1, s2, ...
    server.socket.reply({ type: 'error', code: 'internal', message: 'catch-up read failed', sid: `s${sid}`, retryAfterMs: 200 });
    await until(() => !('todo' in c.status.synced), { what: 'todo to leave status.synced' });
    await until(() => 'todo' in c.status.synced, { what: 'todo subscribed again' });
    assert.equal(server.sent('sub').length, 2);
  });
});

describe('a socket already closing', () => {
  it('when the client goes offline: it is reported offline, with a disconnect', async () => {
    const server = fakeServer({ users: USERS() });
    const c = client(server, { store: memoryStore() });
    await until(() => c.status.online);
    const log = recordEvents(c, ['disconnect']);
    server.socket.readyState = 2; // the server began the closing handshake; its close event has not come
    c.offline(true);
    await until(() => !c.status.online, { what: 'offline' });
    assert.equal(names(log, 'disconnect').length, 1);
  });
});

describe('tabs and sign-in: a refusal of a token the tab replaced', () => {
  it('a tab whose own connection\'s token is refused after it took another tab\'s renewal leaves that tab, and the store, signed in', async () => {
    const users = USERS();
    const server1 = fakeServer({ users, tokenLifetimeMs: 1000 });
    const server2 = fakeServer({ users, tokenLifetimeMs: 60_000 }); // tab 2's renewed token lives on
    const held1 = [];
    // tab 1's renew is refused when the test says (its timer ran late, a throttled background tab: its token expired)
    server1.handle = (m, socket) => (m.type === 'renew'
      ? held1.push(() => socket.reply({ type: 'error', rid: m.rid, code: 'unauthenticated', message: 'token expired' }))
      : server1.standard(m, socket));
    // tab 2 renews once, then its later renewals wait: its token is the one renewed
    let renewed2 = 0;
    server2.handle = (m, socket) => (m.type === 'renew' && renewed2++ > 0 ? undefined : server2.standard(m, socket));
    const factory = new IDBFactory();
    const storeName = `refusal-of-replaced-${Date.now()}`;
    const store = () => indexedDbStore(storeName, { indexedDB: factory, IDBKeyRange });
    const tab1 = client(server1, { store: store() });
    const tab2 = client(server2, { store: store() });
    await until(() => tab1.status.online && tab2.status.online);
    const first = (await tab1.login('alice', 'alice-password')) && (await store().load()).auth.token;
    await until(() => tab2.user?.id === 'alice' && server2.sent('hello').some((m) => m.token), { what: 'tab 2 signed in as alice' });
    await until(() => held1.length === 1, { what: 'tab 1 renewing' });
    // tab 2 renewed alice's token: stored, and told to tab 1, which holds the renewed one now
    await until(async () => renewed2 >= 1 && (await store().load()).auth?.token !== first, { what: 'tab 2 renewed' });
    const renewedToken = (await store().load()).auth.token;
    await sleep(100);
    held1.shift()(); // tab 1's connection token (the first one) is refused
    await sleep(300);
    assert.equal(tab2.user?.id, 'alice', 'tab 2, holding the renewed token the server never refused, was signed out');
    assert.equal((await store().load()).auth?.token, renewedToken, 'the store lost the renewed token: a reload is signed out');
  });
});

describe('tabs and sign-in: a sign-in the store could not write', () => {
  it('a tab whose sign-in as alice failed to store, while another signed in as bob, does not sign that tab in as alice: all end as the store, bob', async () => {
    const users = USERS();
    const server1 = fakeServer({ users });
    const server2 = fakeServer({ users });
    const factory = new IDBFactory();
    const storeName = `failed-sign-in-${++stores}`;
    const store = () => indexedDbStore(storeName, { indexedDB: factory, IDBKeyRange });
    let fail = null; // set: tab 1's next write of auth waits for it, then fails
    const inner = store();
    const tab1 = client(server1, { store: { ...inner, write: (batch) => (fail && batch.auth !== undefined
      ? fail.then(() => { throw new Error('QuotaExceededError'); })
      : inner.write(batch)) } });
    const tab2 = client(server2, { store: store() });
    await until(() => tab1.status.online && tab2.status.online);
    let release;
    fail = new Promise((resolve) => { release = resolve; });
    // what tab 2 tells the tabs, seen by a channel of the test's own (tab 1 hears it the same way)
    const heard = [];
    const spy = new BroadcastChannel(`syncline:${storeName}`);
    spy.onmessage = (e) => heard.push(e.data);
    const alice = tab1.login('alice', 'alice-password').catch(() => null);
    await until(() => tab1.user?.id === 'alice', { what: 'tab 1 signed in in memory, its write pending' });
    await tab2.login('bob', 'bob-password');
    await until(() => heard.some((m) => m.kind === 'auth' && m.owner === 'bob'), { what: 'tab 2 told of bob' });
    release(); // tab 1's write of alice fails now
    await alice;
    let last;
    try {
      await until(async () => {
        const stored = await store().load();
        last = { stored: stored.owner, tab1: tab1.user?.id ?? null, tab2: tab2.user?.id ?? null };
        return last.tab1 === last.stored && last.tab2 === last.stored;
      }, { what: 'both tabs signed in as the user the store holds', timeout: 2000, detail: () => JSON.stringify(last) });
    } finally {
      spy.close();
    }
  });
});

describe('tabs and sign-in: a store deleted under open tabs', () => {
  it('a sign-out in one tab after the browser deleted the store (site data cleared) signs the other tab out too', async () => {
    const users = USERS();
    const server1 = fakeServer({ users });
    const server2 = fakeServer({ users });
    const factory = new IDBFactory();
    const storeName = `deleted-store-${++stores}`;
    const store = () => indexedDbStore(storeName, { indexedDB: factory, IDBKeyRange });
    const tab1 = client(server1, { store: store() });
    const tab2 = client(server2, { store: store() });
    await until(() => tab1.status.online && tab2.status.online);
    for (const user of ['alice', 'bob', 'alice']) {
      await tab1.login(user, `${user}-password`);
      await until(() => tab2.user?.id === user && tab2.status.online, { what: `tab 2 signed in as ${user}` });
    }
    const stamped = (await store().load()).authGen;
    assert.ok(stamped > 0, 'the store stamps sign-ins');
    // the browser deletes the database (cleared site data, storage eviction): open connections close
    await new Promise((resolve, reject) => {
      const request = factory.deleteDatabase(`syncline:${storeName}`);
      request.onsuccess = resolve;
      request.onerror = () => reject(request.error);
    });
    await tab2.logout();
    assert.equal((await store().load()).auth, null, 'the store is signed out');
    await until(() => tab1.user === null, { what: 'tab 1 signed out too', timeout: 2000, detail: () => `tab 1: ${tab1.user?.id}, the old store's last stamp ${stamped}` });
  });
});

describe('tabs and sign-in: a sign-in the store wiped under the tab', () => {
  it('a tab signing in as alice over bob\'s data another tab just stored keeps its anonymous edit and its cursors in the store; the other tab ends as alice', async () => {
    const users = USERS();
    const server1 = fakeServer({ users });
    const server2 = fakeServer({ users });
    // no acks: the anonymous edit stays pending
    for (const s of [server1, server2]) s.handle = (m, socket) => (m.type === 'push' ? undefined : s.standard(m, socket));
    const factory = new IDBFactory();
    const storeName = `wiped-under-${++stores}`;
    const store = () => indexedDbStore(storeName, { indexedDB: factory, IDBKeyRange });
    let gate = null; // set: tab 1's writes of auth wait for it
    const inner = store();
    const tab1 = client(server1, { store: { ...inner, write: (batch) => (gate && batch.auth !== undefined ? gate.then(() => inner.write(batch)) : inner.write(batch)) } });
    const tab2 = client(server2, { store: store() });
    await until(() => tab1.status.online && tab2.status.online);
    const items1 = tab1.db('todo').col('items');
    const items2 = tab2.db('todo').col('items');
    await until(() => tab1.status.synced.todo !== undefined, { what: 'tab 1 following todo' });
    const frame = (seq, id) => server1.socket.reply({ type: 'changes', sid: `s${server1.sent('sub').length}`, db: 'todo', seq,
      deltas: [{ col: 'items', id, attr: 't', value: seq, ts: `179660000000${seq}-0000-srv`, seq }] });
    frame(1, 'shared');
    await until(async () => (await store().load()).cursors.todo?.seq === 1, { what: 'the first frame stored' });
    await items1.doc('mine').set({ t: 'anonymous' });
    await until(() => tab2.status.pending === 1, { what: 'tab 2 told of the anonymous edit' });
    let release;
    gate = new Promise((resolve) => { release = resolve; });
    const alice = tab1.login('alice', 'alice-password');
    await until(() => tab1.user?.id === 'alice', { what: 'tab 1 signed in in memory, its write held' });
    await tab2.login('bob', 'bob-password'); // stored first: the anonymous data is bob's now
    await items2.doc('bobs').set({ t: 'bob' });
    release(); // tab 1's sign-in lands over bob's data: the store wipes it all
    await alice;
    await until(() => tab2.user?.id === 'alice', { what: 'tab 2 follows alice' });
    frame(2, 'later'); // a later frame of tab 1's chains on its cursor
    let stored;
    const summary = (s) => JSON.stringify({ owner: s.owner, cursors: s.cursors, registers: s.registers.map((r) => r.id).sort(), pending: s.pending.map((r) => r.id) });
    await until(async () => {
      stored = await store().load();
      return stored.cursors.todo?.seq === 2;
    }, { what: 'tab 1\'s later cursor stored', timeout: 2000, detail: () => summary(stored) });
    assert.equal(summary(stored), JSON.stringify({ owner: 'alice', cursors: { todo: { seq: 2, epoch: 'e1' } }, registers: ['later', 'shared'], pending: ['mine'] }),
      'a reload holds what tab 1 does');
    assert.deepEqual(items1.all().map((d) => d.id), ['later', 'mine', 'shared']);
    // tab 2 dropped bob's data, and holds alice's pending edit as the store does
    await until(() => tab2.status.pending === 1, { what: 'tab 2 holding the pending edit', timeout: 2000, detail: () => JSON.stringify(tab2.unsaved()) });
    assert.deepEqual(tab2.unsaved().map((d) => d.id), ['mine']);
    assert.equal(items2.doc('bobs').get(), null, 'bob\'s edit shown to alice');
  });
});
