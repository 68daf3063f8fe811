// End-to-end test of the admin page (/admin/) in real Chromium against the real server jar:
//
//   npm ci && npm test      (needs server/target/syncline-server.jar and /usr/bin/chromium)
//
// `mvn -B verify` runs it after packaging the jar; to build only the jar:
// cd ../../../.. && mvn -q -B -pl sync-protocol,server package -DskipTests
//
// An admin signs in in the page while a client, signed in as a user without roles, reads and
// writes over its own WebSocket. The page must show the client's write live; the client must get
// the page's edits, destroy and restore like any other client's; a policy set in the page must take
// the client's read access away (reset, then nothing) and a role given in the page bring it back;
// a bad policy must show the server's own message; a user created in the page can sign in until
// the page disables it. Apart from the story: a dropped socket signs in again (or back to the form
// when the token is refused; again later when the hello is overloaded), the token is renewed
// before it expires, and of two more servers, the one that dials the other shows it as a peer. Screenshots land in server/target/: admin-page.png (the status tab) and
// one of each other tab.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
// the same start-up as the SDK's integration tests: the real jar, port 0, a temporary data folder
import { ADMIN_PASSWORD, startServer, tempDir } from '../../../../client-js/test/support/server.js';
import { ProtocolClient } from './protocol-client.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TARGET = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../target');
const UI_DEADLINE_MS = 5_000;
const BOB = { username: 'bob', password: 'bob-password-1' };
const SIGNED_IN = { read: ['$user'], create: ['$user'], update: ['$user'], destroy: ['$user'] };
const STAFF_READS = { ...SIGNED_IN, read: ['role:staff'] };

if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH).`);

describe('the admin page', () => {
  const data = tempDir('syncline-admin-page-');
  let server, http, browser, page, bob;
  const pageProblems = []; // uncaught errors and console errors (a CSP refusal is one): any fails the test
  let failed = false;

  /** One step of the story: after a failed step the rest are skipped, since each builds on the last. */
  const step = (name, fn) => it(name, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    try {
      await fn();
      assert.deepEqual(pageProblems, [], 'the page logged no errors');
    } catch (error) {
      failed = true;
      await page?.screenshot({ path: path.join(TARGET, 'admin-page-failure.png'), fullPage: true }).catch(() => {});
      throw error;
    }
  });

  before(async () => {
    server = await startServer({
      data,
      config: { databases: [{ name: 'app', policy: SIGNED_IN }], users: [{ ...BOB, roles: [] }] },
    });
    http = `http://127.0.0.1:${server.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
    });
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    page.setDefaultTimeout(UI_DEADLINE_MS);
    page.on('pageerror', (error) => pageProblems.push(error.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageProblems.push(m.text());
    });
    bob = await ProtocolClient.signIn(server.url, 'bob-phone', BOB);
    await bob.subscribe('app');
    await mkdir(TARGET, { recursive: true });
  });

  after(async () => {
    bob?.close();
    await browser?.close();
    const exit = await server?.stop();
    if (failed) console.log(`# server output:\n${server?.log()}`);
    if (exit && exit.code !== 0 && exit.code !== 143 && exit.signal !== 'SIGTERM') console.log(`# the server exited with ${JSON.stringify(exit)}`);
    server?.cleanup();
  });

  const tab = (name) => page.getByRole('tab', { name });
  const panel = (name) => page.getByRole('tabpanel', { name });
  const docRow = (id) => panel('Data').getByRole('table', { name: /^Documents/ }).getByRole('row').filter({ hasText: id });

  step('signs in with the admin password; a wrong one is refused with the server\'s message', async () => {
    await page.goto(`${http}/admin`);
    assert.equal(new URL(page.url()).pathname, '/admin/');
    const form = page.getByRole('form', { name: 'Sign in' });
    await form.getByLabel('Username').fill('admin');
    await form.getByLabel('Password').fill('not-the-password');
    await form.getByRole('button', { name: 'Sign in' }).click();
    await form.getByRole('alert').filter({ hasText: 'unauthenticated: wrong username or password' }).waitFor();
    await form.getByLabel('Password').fill(ADMIN_PASSWORD);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Signed in as admin').waitFor();
  });

  step('a reload stays signed in; the status tab shows the server: id, version, data folder, connections, databases', async () => {
    await page.reload(); // the token is kept in sessionStorage
    await page.getByText('Signed in as admin').waitFor();
    const facts = panel('Status');
    await facts.getByText(data).waitFor(); // the data folder, as server.stats.dataPath
    await facts.getByText(/^0\.\d+\.\d+/).first().waitFor(); // the version
    await until('two connections (the page and bob)', () => page.locator('[data-stat=connections]').textContent(), (n) => Number(n) >= 2);
    await facts.getByRole('table', { name: 'Databases' }).getByRole('row').filter({ hasText: 'app' }).waitFor();
  });

  step('a document a client writes appears in the page live', async () => {
    await tab('Data').click();
    await panel('Data').getByRole('list', { name: 'Databases' }).getByRole('button', { name: 'app', exact: true }).click();
    const ack = await bob.push('app', [{ col: 'notes', id: 'n1', attr: 'title', value: 'Buy milk' }]);
    assert.deepEqual(ack.results, ['applied']);
    await docRow('n1').filter({ hasText: 'title: Buy milk' }).waitFor();
    await panel('Data').getByRole('list', { name: 'Collections' }).getByRole('button', { name: /^notes/ }).waitFor();
  });

  step('an attribute edited in the page reaches the client as the page\'s own write', async () => {
    bob.mark(); // past bob's own write coming back
    await panel('Data').getByRole('button', { name: 'Open n1' }).click();
    await page.getByRole('button', { name: 'Edit title' }).click();
    await page.getByLabel('Value').fill('Buy oat milk');
    await page.getByRole('button', { name: 'Save attribute' }).click();
    const delta = await bob.nextDelta((d) => d.id === 'n1' && d.attr === 'title');
    assert.equal(delta.value, 'Buy oat milk');
    assert.match(delta.ts, /^\d{13}-[0-9a-f]{4}-admin-page-/, 'stamped with the page\'s clientId');
    await docRow('n1').filter({ hasText: 'title: Buy oat milk' }).waitFor();
  });

  step('destroy and restore in the page reach the client', async () => {
    await page.getByRole('button', { name: 'Destroy document' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Destroy' }).click();
    assert.equal((await bob.nextDelta((d) => d.id === 'n1' && d.attr === '$deleted')).value, true);
    await page.getByRole('button', { name: 'Restore document' }).click();
    assert.equal((await bob.nextDelta((d) => d.id === 'n1' && d.attr === '$deleted')).value, false);
    await docRow('n1').filter({ hasText: 'title: Buy oat milk' }).waitFor();
  });

  step('a bad policy is refused, and the page shows the server\'s message', async () => {
    await tab('Policies').click();
    const form = page.getByRole('form', { name: 'Edit a policy' });
    await form.getByLabel('Database').selectOption('app');
    const editor = form.getByLabel('Policy (JSON)');
    await until('the policy of app in the editor', () => editor.inputValue(), (v) => v.includes('"$user"'));
    await editor.fill('{"read": ["everyone"]}');
    await form.getByRole('button', { name: 'Save policy' }).click();
    await form.getByRole('alert').filter({ hasText: /^bad_request: policy\.read: principals are/ }).waitFor();
    await editor.fill('{"read": [');
    await form.getByRole('button', { name: 'Save policy' }).click();
    await form.getByRole('alert').filter({ hasText: /^Not JSON/ }).waitFor();

    // typed while a policy.get is on its way: its answer updates the note but leaves the text alone
    const typed = '{"read": ["role:typed-meanwhile"]}';
    await page.evaluate((text) => {
      const f = document.getElementById('policy-form');
      f.elements.col.value = 'no-policy-here';
      f.elements.col.dispatchEvent(new Event('change'));
      f.elements.policy.value = text;
      f.elements.policy.dispatchEvent(new Event('input'));
    }, typed);
    await page.getByText('Nothing is stored here.', { exact: false }).waitFor();
    assert.equal(await editor.inputValue(), typed);
    await form.getByLabel('Collection').fill('');
    await form.getByLabel('Collection').dispatchEvent('change');
    await until('the policy of app back in the editor', () => editor.inputValue(), (v) => v.includes('"$user"'));
  });

  step('a policy set in the page takes the client\'s read access away: reset, then nothing of it', async () => {
    bob.mark();
    const form = page.getByRole('form', { name: 'Edit a policy' });
    await form.getByLabel('Policy (JSON)').fill(JSON.stringify(STAFF_READS));
    await form.getByRole('button', { name: 'Save policy' }).click();
    await page.getByText('Saved the policy of app').waitFor();
    await bob.next((m) => m.type === 'reset');
    await bob.next((m) => m.type === 'synced');
    assert.deepEqual(bob.since().filter((m) => m.type === 'changes').flatMap((m) => m.deltas), [], 'bob holds nothing after the reset');
    await panel('Policies').getByRole('table', { name: 'Stored policies' }).getByRole('row').filter({ hasText: 'role:staff' }).waitFor();
    await page.screenshot({ path: path.join(TARGET, 'admin-page-policies.png'), fullPage: true });

    // a write bob may no longer read: the page sees it, bob does not
    await bob.push('app', [{ col: 'notes', id: 'n2', attr: 'title', value: 'bob cannot see this' }]);
    await tab('Data').click();
    await docRow('n2').waitFor();
    await bob.ping(); // anything the server sent bob before its pong has arrived
    assert.deepEqual(bob.since().filter((m) => m.type === 'changes').flatMap((m) => m.deltas), []);
  });

  step('a role given in the page brings the access back; a new user signs in until disabled', async () => {
    bob.mark();
    await tab('Users').click();
    await page.getByRole('button', { name: 'Roles of bob' }).click();
    await page.getByRole('dialog').getByLabel(/^Roles/).fill('staff');
    await page.getByRole('dialog').getByRole('button', { name: 'Save roles' }).click();
    await bob.next((m) => m.type === 'reset');
    await bob.next((m) => m.type === 'synced');
    const ids = new Set(bob.since().filter((m) => m.type === 'changes').flatMap((m) => m.deltas.map((d) => d.id)));
    assert.deepEqual([...ids].sort(), ['n1', 'n2']);

    const form = page.getByRole('form', { name: 'New user' });
    await form.getByLabel('Username').fill('carol');
    await form.getByLabel('Password').fill('short');
    await form.getByRole('button', { name: 'Create user' }).click();
    await form.getByRole('alert').filter({ hasText: /^bad_request: password/ }).waitFor();
    await form.getByLabel('Password').fill('carol-password');
    await form.getByLabel('Roles').fill('staff');
    await form.getByRole('button', { name: 'Create user' }).click();
    const carolRow = panel('Users').getByRole('table', { name: 'Users' }).getByRole('row').filter({ hasText: 'carol' });
    await carolRow.filter({ hasText: 'staff' }).filter({ hasText: 'active' }).waitFor();

    const carol = await ProtocolClient.signIn(server.url, 'carol-laptop', { username: 'carol', password: 'carol-password' });
    await page.getByRole('button', { name: 'Disable carol' }).click();
    await carolRow.filter({ hasText: 'disabled' }).waitFor();
    await page.screenshot({ path: path.join(TARGET, 'admin-page-users.png'), fullPage: true });
    const ended = await carol.next((m) => m.type === 'error');
    assert.equal(ended.code, 'unauthenticated');
    assert.equal(await carol.closed, 1008);
    await assert.rejects(ProtocolClient.signIn(server.url, 'carol-laptop', { username: 'carol', password: 'carol-password' }),
      /unauthenticated/);
  });

  step('the status tab shows the writes; screenshots; signing out forgets the token', async () => {
    await tab('Data').click();
    await page.screenshot({ path: path.join(TARGET, 'admin-page-data.png'), fullPage: true });
    await tab('Status').click();
    for (let i = 0; i < 20; i++) await bob.push('app', [{ col: 'notes', id: `load${i}`, attr: 'n', value: i }]);
    await until('writes per second above 0', () => page.locator('[data-stat=deltas-per-second]').textContent(),
      (text) => parseFloat(text) > 0);
    await page.getByRole('list', { name: 'Latest admin changes' }).getByRole('listitem')
      .filter({ hasText: 'user.update' }).filter({ hasText: 'carol' }).first().waitFor();
    await page.screenshot({ path: path.join(TARGET, 'admin-page.png'), fullPage: true });

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('form', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('form', { name: 'Sign in' }).waitFor();
  });

  it('a sign-in refused when the page connects again (its token no longer valid) goes back to the sign-in form', async () => {
    const context = await browser.newContext();
    try {
      // from its second connection on, the hello carries a token the server refuses, as after the
      // token expired or the password changed while it was down
      const route = await signedInThroughRoute(context, http, (n, hello) => {
        if (n > 1 && hello.token) hello.token = 'no-longer-valid';
      });
      await route.dropSocket();
      await route.page.getByRole('form', { name: 'Sign in' }).waitFor({ timeout: 15_000 }); // not "reconnecting…" for good
      assert.ok(route.connections() >= 2, `it connected again (${route.connections()})`);
    } finally {
      await context.close();
    }
  });

  it('a hello answered overloaded (in a cluster: the user is still on its way) is said again on the same socket', async () => {
    const context = await browser.newContext();
    try {
      // the first hello on the second connection (a reconnect) and on the third (a reload) gets
      // `overloaded`, as from a server of the cluster that has not yet received this admin from its peers
      const refused = [];
      const route = await signedInThroughRoute(context, http, (n, hello, k) => {
        if (n === 1 || k > 1) return undefined;
        refused.push(n);
        return { type: 'error', rid: hello.rid, code: 'overloaded', message: 'token: its user has not reached this server from its peers yet', retryAfterMs: 300 };
      });
      const online = () => until('online again', () => route.page.locator('#connection').getAttribute('data-online'), (v) => v === 'true', 15_000);
      await route.dropSocket();
      await until('the second connection refused once', () => refused.length, (n) => n === 1, 15_000);
      await online();
      await route.page.reload();
      await route.page.getByText('Signed in as admin').waitFor({ timeout: 15_000 });
      await online();
      assert.deepEqual(refused, [2, 3]);
      assert.deepEqual(route.hellos(), [1, 2, 2], 'hellos per connection: said again on the same socket');
    } finally {
      await context.close();
    }
  });

  it('the Data tab follows a database another admin destroys and makes again', async () => {
    const context = await browser.newContext();
    const other = await ProtocolClient.signIn(server.url, 'other-admin', { username: 'admin', password: ADMIN_PASSWORD });
    try {
      const admin = async (op, args) => assert.equal((await other.request({ type: 'admin', op, args })).type, 'result', op);
      await admin('db.create', { db: 'scratch', policy: SIGNED_IN });
      await other.push('scratch', [{ col: 'notes', id: 'first', attr: 'title', value: 'one' }]);
      const { page: p } = await signedInThroughRoute(context, http, () => undefined);
      const data = p.getByRole('tabpanel', { name: 'Data' });
      const databases = data.getByRole('list', { name: 'Databases' });
      const rows = data.getByRole('table', { name: /^Documents/ }).getByRole('row');
      await p.getByRole('tab', { name: 'Data' }).click();
      await databases.getByRole('button', { name: 'scratch', exact: true }).click();
      await rows.filter({ hasText: 'first' }).waitFor({ timeout: UI_DEADLINE_MS });

      await admin('db.destroy', { db: 'scratch' });
      await data.getByRole('list', { name: 'Collections' }).getByText(/^not_found/).waitFor({ timeout: UI_DEADLINE_MS });
      await databases.getByRole('button', { name: 'scratch', exact: true }).waitFor({ state: 'detached', timeout: UI_DEADLINE_MS });

      await admin('db.create', { db: 'scratch', policy: SIGNED_IN });
      await other.push('scratch', [{ col: 'notes', id: 'second', attr: 'title', value: 'two' }]);
      await databases.getByRole('button', { name: 'scratch', exact: true }).click({ timeout: UI_DEADLINE_MS });
      await rows.filter({ hasText: 'second' }).waitFor({ timeout: UI_DEADLINE_MS });
      assert.equal(await rows.filter({ hasText: 'first' }).count(), 0, 'the old life is gone');
    } finally {
      other.close();
      await context.close();
    }
  });

  it('the status tab lists a peer: live and caught up, then cut off, with what it has not confirmed of this server', async () => {
    const cluster = { clusterSecret: 'a test cluster secret of at least 32 characters', databases: [{ name: 'app', policy: SIGNED_IN }] };
    const peer = await startServer({ data: tempDir('syncline-admin-peer-'), config: cluster });
    const here = await startServer({ data: tempDir('syncline-admin-here-'), config: { ...cluster, peers: [peer.url] } });
    const context = await browser.newContext();
    let writer;
    try {
      const { page: p } = await signedInThroughRoute(context, `http://127.0.0.1:${here.port}`, () => undefined);
      const peers = p.getByRole('table', { name: 'Peers' });
      const cell = async (column) => {
        const headers = await peers.getByRole('columnheader').allTextContents();
        return peers.getByRole('row').nth(1).getByRole('cell').nth(headers.indexOf(column)).textContent();
      };
      await until('the link live', () => peers.getByRole('row').nth(1).textContent({ timeout: UI_DEADLINE_MS }),
        (t) => t.includes('live') && t.includes('dial'), 15_000);
      writer = await ProtocolClient.signIn(here.url, 'writer', { username: 'admin', password: ADMIN_PASSWORD });
      await writer.push('app', [{ col: 'notes', id: 'seen', attr: 'title', value: 'by both' }]);
      await until('nothing behind here once confirmed', () => cell('Behind here (deltas)'), (t) => t === '0', 15_000);
      await peer.stop();
      // edits of a document it has: one seq each (a new document's first write adds its $owner)
      for (let i = 0; i < 3; i++) await writer.push('app', [{ col: 'notes', id: 'seen', attr: 'title', value: `here only ${i}` }]);
      await until('the link down', () => cell('State'), (t) => !t.startsWith('live'), 15_000);
      await until('three behind here', () => cell('Behind here (deltas)'), (t) => t === '3', 15_000);
      await p.screenshot({ path: path.join(TARGET, 'admin-page-peers.png'), fullPage: true });
    } finally {
      writer?.close();
      await context.close();
      for (const s of [here, peer]) {
        await s.stop();
        s.cleanup();
      }
    }
  });

  it('the page renews its token at half of its lifetime, so a sign-in outlasts tokenExpirySeconds', async () => {
    const shortLived = await startServer({ data: tempDir('syncline-admin-renew-'), config: { tokenExpirySeconds: 60 } });
    const context = await browser.newContext();
    try {
      await context.clock.install(); // the page's timers run when the test moves its clock; the server's clock is real
      const p = await context.newPage();
      await p.goto(`http://127.0.0.1:${shortLived.port}/admin`);
      const form = p.getByRole('form', { name: 'Sign in' });
      await form.getByLabel('Username').fill('admin');
      await form.getByLabel('Password').fill(ADMIN_PASSWORD);
      await form.getByRole('button', { name: 'Sign in' }).click();
      await p.getByText('Signed in as admin').waitFor({ timeout: UI_DEADLINE_MS });
      const stored = () => p.evaluate(() => sessionStorage.getItem('syncline-admin-token'));
      const claims = (token) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
      const first = await stored();
      // a second ahead: the page's clock runs on meanwhile, and pausing at a time it has passed throws
      const pausedAt = (await p.evaluate(() => Date.now())) + 1000;
      await p.clock.pauseAt(pausedAt); // from here the page's timers run only as the test moves its clock
      await new Promise((resolve) => setTimeout(resolve, 1100)); // a token issued a second later differs (iat, exp)
      const { iat, exp } = claims(first);
      const halfway = (iat + (exp - iat) / 2) * 1000;
      await p.clock.fastForward(halfway - 2000 - pausedAt);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await stored(), first, 'not renewed 2 s before half of its lifetime');
      await p.clock.fastForward(4000);
      const renewed = await until('a renewed token', stored, (t) => t && t !== first);
      assert.ok(claims(renewed).exp > exp, 'the new token lasts longer');
      await p.reload();
      await p.getByText('Signed in as admin').waitFor({ timeout: UI_DEADLINE_MS }); // with the renewed token
    } finally {
      await context.close();
      await shortLived.stop();
    }
  });
});

/**
 * A page of `context` at `http` whose socket goes through a route, signed in as admin. `onHello(n,
 * hello, k)` sees each hello (the k-th on connection n) before the server: it may change it, or
 * return an answer the route gives instead. `dropSocket()` closes the latest connection as a
 * network drop would; `hellos()` counts the hellos of each connection.
 */
async function signedInThroughRoute(context, http, onHello) {
  let connections = 0;
  const hellos = [];
  let latest;
  await context.routeWebSocket(/\/sync$/, (ws) => {
    const n = ++connections;
    hellos[n - 1] = 0;
    const server = ws.connectToServer();
    ws.onMessage((message) => {
      const m = typeof message === 'string' ? JSON.parse(message) : null;
      const answer = m?.type === 'hello' ? onHello(n, m, ++hellos[n - 1]) : undefined;
      if (answer) ws.send(JSON.stringify(answer));
      else server.send(m ? JSON.stringify(m) : message);
    });
    latest = ws;
  });
  const page = await context.newPage();
  await page.goto(`${http}/admin`);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('Username').fill('admin');
  await form.getByLabel('Password').fill(ADMIN_PASSWORD);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as admin').waitFor({ timeout: UI_DEADLINE_MS });
  return {
    page,
    connections: () => connections,
    hellos: () => [...hellos],
    dropSocket: () => latest.close({ code: 1001, reason: 'the network dropped' }),
  };
}

/** Waits until `check(await read())` holds; on timeout fails with the last value read. */
async function until(what, read, check, timeout = UI_DEADLINE_MS) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await read();
    if (check(last)) return last;
    if (Date.now() > end) throw new Error(`Timed out after ${timeout} ms waiting for ${what}; last saw ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
