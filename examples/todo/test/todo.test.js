// End-to-end test of the todo example in real Chromium against the real Syncline server jar.
//
//   npm test            (needs server/target/syncline-server.jar and /usr/bin/chromium)
//
// Every wait has a deadline; the only timed pause is `stillHolds`, which checks for a short while
// that something does NOT happen (an offline browser must neither receive nor send changes).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { EXAMPLE_DIR, assembleWebroot, missingPrerequisites, startServer } from '../scripts/syncline.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// By default the app is served from the web root packed in the jar — what `java -jar` serves.
// SYNCLINE_E2E_WEBROOT=working-copy serves public/ and ../../client-js/src instead, without a rebuild.
const USE_JAR_WEBROOT = process.env.SYNCLINE_E2E_WEBROOT !== 'working-copy';

const missing = missingPrerequisites({ sdk: !USE_JAR_WEBROOT });
if (!existsSync(CHROMIUM)) missing.push(`Chromium not found at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH).`);
if (missing.length) throw new Error(`Cannot run the todo e2e test:\n- ${missing.join('\n- ')}`);
const TARGET = path.join(EXAMPLE_DIR, 'target');
const SYNC_DEADLINE_MS = 1_000;    // an item added in one browser shows in the other within this
const CONNECT_DEADLINE_MS = 15_000;
const UI_DEADLINE_MS = 5_000;
const RECONNECT_DEADLINE_MS = 10_000 + CONNECT_DEADLINE_MS; // the SDK's longest wait between attempts, then connect

let workDir;
let webroot; // undefined: the jar's own
let server;
let browser;
const pageProblems = []; // uncaught page errors: any is a failure

before(async () => {
  const started = Date.now();
  workDir = await mkdtemp(path.join(tmpdir(), 'syncline-todo-e2e-'));
  webroot = USE_JAR_WEBROOT ? undefined : await assembleWebroot(path.join(workDir, 'webroot'));
  server = await startServer({ dataDir: path.join(workDir, 'data'), webroot });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update'],
  });
  await mkdir(TARGET, { recursive: true });
  console.log(`# server ${server.url}, browser ${browser.version()}, ready in ${Date.now() - started} ms`);
});

after(async () => {
  const stopping = Date.now();
  await browser?.close().catch((error) => console.error('closing the browser:', error));
  const exit = await server?.stop().catch((error) => console.error('stopping the server:', error));
  if (exit && exit.code !== 0 && exit.code !== 143 && exit.signal !== 'SIGTERM') {
    console.error(`server exited with ${JSON.stringify(exit)}; its output:\n${server.log()}`);
  }
  if (workDir) await rm(workDir, { recursive: true, force: true });
  console.log(`# browser and server stopped in ${Date.now() - stopping} ms`);
});

// ---------------------------------------------------------------------------------------------
// Helpers

function randomList(prefix) {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

async function newPage(context, name) {
  const page = await context.newPage();
  page.setDefaultTimeout(10_000); // no Playwright action may hang for its default 30 s
  page.on('pageerror', (error) => pageProblems.push(`${name}: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') console.log(`# [${name} console.error] ${message.text()}`);
  });
  return page;
}

/** Opens the app on `list` (or the page's current address) and waits until it has started. */
async function openApp(page, list, { online = true } = {}) {
  if (list !== undefined) await page.goto(`${server.url}/?list=${list}`);
  await page.waitForSelector('html[data-app="ready"]', { timeout: UI_DEADLINE_MS });
  if (online) await waitOnline(page, true);
}

/** What the app shows, read from the DOM. */
function snapshot(page) {
  return page.evaluate(() => ({
    todos: [...document.querySelectorAll('.todo-list li')].map((li) => ({
      title: li.querySelector('label').textContent,
      completed: li.classList.contains('completed'),
    })),
    online: document.querySelector('#sync-status').dataset.online,
    pending: document.querySelector('#pending-count').textContent,
    count: document.querySelector('.todo-count').textContent,
    fatal: document.querySelector('#fatal').textContent,
  }));
}

/** Waits for `predicate(snapshot)` in the page; on timeout fails with what the page showed. */
async function until(page, what, predicate, arg, timeout = UI_DEADLINE_MS) {
  try {
    await page.waitForFunction(predicate, arg, { timeout, polling: 25 });
  } catch (error) {
    if (!/Timeout/i.test(error.message)) throw error;
    const shown = await snapshot(page).catch((e) => `(could not read the page: ${e.message})`);
    throw new Error(`Timed out after ${timeout} ms waiting for ${what}. The page shows: ${JSON.stringify(shown)}`);
  }
}

/** Waits until the list shows exactly `expected` ([{title, completed}], in order). */
function waitForTodos(page, expected, timeout = UI_DEADLINE_MS) {
  return until(page, `the todos ${JSON.stringify(expected)}`, (want) => JSON.stringify(
    [...document.querySelectorAll('.todo-list li')].map((li) => ({
      title: li.querySelector('label').textContent,
      completed: li.classList.contains('completed'),
    }))) === want, JSON.stringify(expected), timeout);
}

function waitOnline(page, online, timeout = CONNECT_DEADLINE_MS) {
  return until(page, `#sync-status[data-online="${online}"]`,
    (want) => document.querySelector('#sync-status').dataset.online === want, String(online), timeout);
}

/** Waits until the pending count is 0 (`zero`) or above 0 (`some`). */
function waitPending(page, which, why, timeout = CONNECT_DEADLINE_MS) {
  return until(page, `the pending count to be ${which === 'zero' ? '0' : '> 0'} (${why})`, (w) => {
    const n = Number(document.querySelector('#pending-count').textContent);
    return w === 'zero' ? n === 0 : n > 0;
  }, which, timeout);
}

/** Waits until the page says `n` todos of its list are not saved yet (#pending-count, and the words shown). */
function waitUnsaved(page, n, why, timeout = UI_DEADLINE_MS) {
  const words = n === 0 ? 'all saved' : `${n} ${n === 1 ? 'todo' : 'todos'} not saved yet`;
  return until(page, `#pending-count ${n} and "${words}" shown (${why})`, ([count, want]) =>
    document.querySelector('#pending-count').textContent === count &&
    document.querySelector('#sync-status').innerText.includes(want), [String(n), words], timeout);
}

function waitForText(page, selector, text, timeout = UI_DEADLINE_MS) {
  return until(page, `${selector} to read "${text}"`,
    ([s, t]) => document.querySelector(s)?.textContent.trim() === t, [selector, text], timeout);
}

/** Checks that `predicate` stays true for `ms`: for things that must NOT happen. */
async function stillHolds(page, what, predicate, arg, ms) {
  const end = Date.now() + ms;
  do {
    if (!(await page.evaluate(predicate, arg))) {
      throw new Error(`Expected ${what} for ${ms} ms, but it changed: ${JSON.stringify(await snapshot(page))}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  } while (Date.now() < end);
}

async function addTodo(page, title) {
  await page.locator('.new-todo').fill(title);
  await page.locator('.new-todo').press('Enter');
}

function item(page, title) {
  return page.locator('.todo-list li').filter({ has: page.locator('label', { hasText: new RegExp(`^${title}$`) }) });
}

async function editTodo(page, title, newValue, key = 'Enter') {
  await item(page, title).locator('label').dblclick();
  const input = item(page, title).locator('.edit');
  await input.fill(newValue);
  await input.press(key);
}

const todo = (title, completed = false) => ({ title, completed });

// ---------------------------------------------------------------------------------------------
// Sync between two browsers, offline edits, merge, reload

describe('two browsers on one list', () => {
  const list = randomList('e2e');
  let contextA, contextB, pageA, pageB;
  let failed = false;
  let offlineIndicatorError = null;
  const step = (name, fn) => it(name, async (t) => {
    if (failed) return t.skip('an earlier step failed');
    const started = Date.now();
    try {
      await fn(t);
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      t.diagnostic(`${name}: ${Date.now() - started} ms`);
    }
  });

  before(async () => {
    contextA = await browser.newContext();
    contextB = await browser.newContext();
    pageA = await newPage(contextA, 'A');
    pageB = await newPage(contextB, 'B');
  });
  after(async () => {
    await contextA?.close();
    await contextB?.close();
  });

  step('1. an item added in one browser shows in the other within a second', async (t) => {
    await Promise.all([openApp(pageA, list), openApp(pageB, list)]);
    assert.equal(await pageA.locator('#list-name').textContent(), list);
    assert.match(await pageA.locator('#share-url').inputValue(), new RegExp(`\\?list=${list}$`));

    await addTodo(pageA, 'Buy milk');
    const added = Date.now();
    await waitForTodos(pageB, [todo('Buy milk')], SYNC_DEADLINE_MS);
    t.diagnostic(`A -> B latency: ${Date.now() - added} ms`);
    await waitForTodos(pageA, [todo('Buy milk')]);
    await waitPending(pageA, 'zero', 'A recorded the item');
  });

  step('2. one browser goes offline; both edit', async (t) => {
    await contextA.setOffline(true);
    // Chromium keeps an open WebSocket open under setOffline (frames are held, no close event);
    // the app must still show it is offline, which needs the SDK to act on window 'offline'.
    // A failure here is reported by step 6, so that the merge is still tested.
    const offlineAt = Date.now();
    await waitOnline(pageA, false, UI_DEADLINE_MS).then(
      () => t.diagnostic(`A shows offline ${Date.now() - offlineAt} ms after setOffline(true)`),
      (error) => {
        offlineIndicatorError = new Error('After context.setOffline(true) the app still said online. ' +
          'Chromium does not close an open WebSocket when offline is emulated (it holds its frames in ' +
          'both directions, fires no close, and fires window "offline"), so the SDK has to react to ' +
          `the "offline" event. ${error.message}`);
        t.diagnostic(offlineIndicatorError.message);
      });

    // Online B renames the item; it is recorded by the server.
    await editTodo(pageB, 'Buy milk', 'Buy oat milk');
    await waitForTodos(pageB, [todo('Buy oat milk')]);
    await waitPending(pageB, 'zero', 'B recorded the rename');

    // Offline A completes the same item and adds two more.
    await item(pageA, 'Buy milk').locator('.toggle').check();
    await addTodo(pageA, 'Offline one');
    await addTodo(pageA, 'Offline two');
    const offlineView = [todo('Buy milk', true), todo('Offline one'), todo('Offline two')];
    await waitForTodos(pageA, offlineView);
    // three todos, one completed and two new: five attributes
    await waitUnsaved(pageA, 3, 'A holds the changes of three todos');
    await pageA.screenshot({ path: path.join(TARGET, 'todo-offline.png') });

    // Really cut off: nothing crosses in either direction while A is offline.
    const heldFor = 750;
    await Promise.all([
      stillHolds(pageA, 'A not receiving the rename', (want) => {
        const label = document.querySelector('.todo-list li label');
        return label && label.textContent === want;
      }, 'Buy milk', heldFor),
      stillHolds(pageB, 'B not receiving A\'s offline edits', (n) =>
        document.querySelectorAll('.todo-list li').length === n &&
        !document.querySelector('.todo-list li.completed'), 1, heldFor),
      stillHolds(pageA, 'A keeping its changes pending', (indicatorWorks) =>
        (!indicatorWorks || document.querySelector('#sync-status').dataset.online === 'false') &&
        Number(document.querySelector('#pending-count').textContent) > 0, !offlineIndicatorError, heldFor),
    ]);
  });

  step('3. back online, both show the merged result', async (t) => {
    const onlineAt = Date.now();
    await contextA.setOffline(false);
    const merged = [todo('Buy oat milk', true), todo('Offline one'), todo('Offline two')];
    await waitOnline(pageA, true);
    await waitPending(pageA, 'zero', 'A recorded its offline edits');
    t.diagnostic(`A online and recorded ${Date.now() - onlineAt} ms after setOffline(false)`);
    await Promise.all([waitForTodos(pageA, merged), waitForTodos(pageB, merged)]);
    t.diagnostic(`both merged ${Date.now() - onlineAt} ms after setOffline(false)`);
    for (const page of [pageA, pageB]) await waitForText(page, '.todo-count', '2 items left');
  });

  step('4. a reload keeps everything', async () => {
    const merged = [todo('Buy oat milk', true), todo('Offline one'), todo('Offline two')];

    // From the browser's own store: a page of A's profile whose WebSocket never reaches the server.
    const local = await newPage(contextA, 'A-local');
    await local.routeWebSocket(/\/sync$/, () => {}); // accepted by the mock, never answered
    await local.goto(`${server.url}/?list=${list}`);
    await openApp(local, undefined, { online: false });
    await waitForTodos(local, merged);
    assert.equal((await snapshot(local)).online, 'false', 'the local-only page must not be online');
    await local.close();

    // And a plain reload of both.
    await Promise.all([pageA.reload(), pageB.reload()]);
    await Promise.all([openApp(pageA), openApp(pageB)]);
    await Promise.all([waitForTodos(pageA, merged), waitForTodos(pageB, merged)]);
  });

  step('5. screenshot', async () => {
    const file = path.join(TARGET, 'todo-e2e.png');
    await pageB.screenshot({ path: file });
    assert.ok(existsSync(file));
  });

  step('6. the offline browser showed it was offline', () => {
    if (offlineIndicatorError) throw offlineIndicatorError;
  });
});

// ---------------------------------------------------------------------------------------------
// The server stopped: the page still opens (service worker), edits wait, and reach it once back

describe('with the server stopped', () => {
  let own;            // a server of this block's own, stopped and started again on its port and data
  const contexts = [];
  const dataDir = () => path.join(workDir, 'data-server-down');

  before(async () => {
    own = await startServer({ dataDir: dataDir(), webroot });
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await own?.stop();
  });

  async function freshPage(name) {
    const context = await browser.newContext();
    contexts.push(context);
    return { context, page: await newPage(context, name) };
  }

  it('a reload and a new tab open the list, edits wait, and reach the server once it is back', async (t) => {
    const list = randomList('down');
    const { context, page } = await freshPage('down');
    await page.goto(`${own.url}/?list=${list}`);
    await openApp(page);
    await addTodo(page, 'Saved before');
    await waitForTodos(page, [todo('Saved before')]);
    await waitPending(page, 'zero', 'the server recorded the item');
    // the worker keeps the page once it is active: what a user needs before going offline
    await until(page, 'html[data-offline="ready"] (the page is kept for offline use)',
      () => document.documentElement.dataset.offline === 'ready');

    const { port } = own;
    await own.stop();
    await assert.rejects(fetch(`${own.url}/health`), 'the server is really down');

    // A reload: the page comes from the worker, the list from IndexedDB.
    await page.reload();
    await openApp(page, undefined, { online: false });
    await waitForTodos(page, [todo('Saved before')]);
    assert.equal((await snapshot(page)).online, 'false');

    // A new tab, too.
    const tab = await newPage(context, 'down-tab');
    await tab.goto(`${own.url}/?list=${list}`);
    await openApp(tab, undefined, { online: false });
    await waitForTodos(tab, [todo('Saved before')]);

    // Edits while the server is down wait, and show as not saved.
    await editTodo(page, 'Saved before', 'Renamed while down');
    await addTodo(page, 'Added while down');
    const edited = [todo('Renamed while down'), todo('Added while down')];
    await waitForTodos(page, edited);
    await waitUnsaved(page, 2, 'the edits wait for the server');
    await waitForTodos(tab, edited); // the other tab sees them at once
    await waitUnsaved(tab, 2, 'the other tab\'s edits wait too');

    // The server again, on the same port and data: the edits reach it.
    const restarted = Date.now();
    own = await startServer({ dataDir: dataDir(), webroot, port });
    // the SDK's reconnect delay doubles up to 10 s (backoffMaxMs) while the server is down
    await waitOnline(page, true, RECONNECT_DEADLINE_MS);
    await waitPending(page, 'zero', 'the server recorded the edits made while it was down');
    await waitUnsaved(page, 0, 'all recorded');
    t.diagnostic(`recorded ${Date.now() - restarted} ms after the server started again`);

    // Seen from a browser that was never here: the server has them.
    const { page: other } = await freshPage('down-other');
    await other.goto(`${own.url}/?list=${list}`);
    await openApp(other);
    await waitForTodos(other, edited);
  });

  it('behind a reverse proxy that answers 502 while the server is down, a reload opens the kept page', async () => {
    // the proxy TLS needs off localhost (see README): it answers for the server, or 502 once it is down
    const behind = await startServer({ dataDir: path.join(workDir, 'data-proxied'), webroot });
    let down = false;
    const proxy = http.createServer(async (request, response) => {
      try {
        if (down) throw new Error('the server is down');
        const answer = await fetch(behind.url + request.url, { headers: { accept: request.headers.accept ?? '*/*' } });
        const headers = Object.fromEntries([...answer.headers].filter(([k]) => !['content-encoding', 'content-length', 'transfer-encoding'].includes(k)));
        response.writeHead(answer.status, headers);
        response.end(Buffer.from(await answer.arrayBuffer()));
      } catch {
        response.writeHead(502, { 'content-type': 'text/html' });
        response.end('<h1>502 Bad Gateway</h1>');
      }
    });
    await new Promise((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const { page } = await freshPage('proxied');
      // no WebSocket through this proxy: the page is offline throughout, which is all this needs
      await page.goto(`http://127.0.0.1:${proxy.address().port}/?list=${randomList('proxied')}`);
      await openApp(page, undefined, { online: false });
      await until(page, 'the page kept for offline use', () => document.documentElement.dataset.offline === 'ready');
      down = true;
      await page.reload();
      await openApp(page, undefined, { online: false });
    } finally {
      proxy.close();
      await behind.stop();
    }
  });

  it('a new version not all of which downloads is not kept: the last whole one stays', async () => {
    const root = await assembleWebroot(path.join(workDir, 'webroot-half-upgraded'));
    const versioned = await startServer({ dataDir: path.join(workDir, 'data-half-upgraded'), webroot: root });
    try {
      const { page } = await freshPage('half-upgraded');
      await page.goto(`${versioned.url}/?list=${randomList('half-upgraded')}`);
      await openApp(page);
      await until(page, 'the page kept for offline use', () => document.documentElement.dataset.offline === 'ready');

      // a new page whose styles cannot be had (an upgrade half rolled out, a load cut off)
      const index = path.join(root, 'index.html');
      const hint = '<p>Double-click to edit a todo</p>';
      await writeFile(index, (await readFile(index, 'utf8')).replace(hint, '<p id="version-two">Version two</p>'));
      await rm(path.join(root, 'styles.css'));
      await page.reload();
      assert.ok(await page.locator('#version-two').isVisible(), 'online, the new page shows');

      await versioned.stop();
      await page.reload();
      await openApp(page, undefined, { online: false });
      assert.equal(await page.locator('#version-two').count(), 0, 'offline, the last whole version, not the new page beside old styles');
      assert.equal(await page.evaluate(() => getComputedStyle(document.body).maxWidth), '550px', 'with its styles');
    } finally {
      await versioned.stop();
    }
  });

  it('a new version of the page shows on the next load online, and is then the one kept', async () => {
    // a web root of this test's own, changed while the server runs (--static serves it as it is now)
    const root = await assembleWebroot(path.join(workDir, 'webroot-upgraded'));
    const versioned = await startServer({ dataDir: path.join(workDir, 'data-upgraded'), webroot: root });
    try {
      const { page } = await freshPage('upgraded');
      await page.goto(`${versioned.url}/?list=${randomList('upgraded')}`);
      await openApp(page);
      await until(page, 'the page kept for offline use', () => document.documentElement.dataset.offline === 'ready');

      const index = path.join(root, 'index.html');
      const hint = '<p>Double-click to edit a todo</p>';
      const html = await readFile(index, 'utf8');
      assert.ok(html.includes(hint), `index.html has ${hint}`);
      await writeFile(index, html.replace(hint, '<p id="version-two">Version two</p>'));
      await page.reload();
      await openApp(page);
      assert.ok(await page.locator('#version-two').isVisible(), 'online, a reload shows the new version');
      // the worker keeps it whole, in the background, once every file of it has downloaded
      await until(page, 'the new version kept', async () => {
        const copies = (await caches.keys()).filter((name) => name.startsWith('syncline-todo-shell-')).sort().reverse();
        for (const name of copies) {
          const kept = await caches.match('/', { cacheName: name }); // not caches.open: it would make a copy the worker just dropped again
          if (kept) return (await kept.text()).includes('version-two');
        }
        return false;
      });

      await versioned.stop();
      await page.reload();
      await openApp(page, undefined, { online: false });
      assert.ok(await page.locator('#version-two').isVisible(), 'offline, the new version is the one kept');
    } finally {
      await versioned.stop();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// TodoMVC specification checks, one browser

describe('TodoMVC behaviour', () => {
  let context, page;
  before(async () => {
    context = await browser.newContext();
    page = await newPage(context, 'spec');
  });
  after(async () => context?.close());

  it('starts empty with the input focused; adds trimmed titles; counts with plurals', async () => {
    await openApp(page, randomList('spec'));
    assert.ok(await page.evaluate(() => document.activeElement?.classList.contains('new-todo')), 'new-todo has focus');
    assert.ok(await page.locator('.main').isHidden(), 'main hidden without todos');
    assert.ok(await page.locator('.footer').isHidden(), 'footer hidden without todos');

    await addTodo(page, '   ');                  // blank: ignored
    await addTodo(page, '  Walk the dog  ');     // trimmed
    await waitForTodos(page, [todo('Walk the dog')]);
    assert.equal(await page.locator('.new-todo').inputValue(), '', 'input cleared after adding');
    assert.ok(await page.locator('.main').isVisible());
    assert.ok(await page.locator('.footer').isVisible());
    await waitForText(page, '.todo-count', '1 item left');
    assert.equal(await page.locator('.todo-count strong').textContent(), '1');
    assert.ok(await page.locator('.clear-completed').isHidden(), 'clear-completed hidden with none completed');

    await addTodo(page, 'Feed the cat');
    await waitForTodos(page, [todo('Walk the dog'), todo('Feed the cat')]);
    await waitForText(page, '.todo-count', '2 items left');

    await item(page, 'Walk the dog').locator('.toggle').check();
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed the cat')]);
    await waitForText(page, '.todo-count', '1 item left');
    assert.ok(await page.locator('.clear-completed').isVisible(), 'clear-completed shown with one completed');
  });

  it('filters by #/, #/active and #/completed, marking the selected one', async () => {
    const selected = () => page.locator('.filters a.selected').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.deepEqual(await selected(), ['#/']);

    await page.click('.filters a[href="#/active"]');
    await waitForTodos(page, [todo('Feed the cat')]);
    assert.deepEqual(await selected(), ['#/active']);

    await page.click('.filters a[href="#/completed"]');
    await waitForTodos(page, [todo('Walk the dog', true)]);
    assert.deepEqual(await selected(), ['#/completed']);

    await page.reload(); // the filter comes from the address
    await openApp(page);
    await waitForTodos(page, [todo('Walk the dog', true)]);

    await page.click('.filters a[href="#/"]');
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed the cat')]);
    assert.deepEqual(await selected(), ['#/']);
  });

  it('toggle-all completes all, then none', async () => {
    await page.click('label[for="toggle-all"]');
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed the cat', true)]);
    await waitForText(page, '.todo-count', '0 items left');
    assert.ok(await page.locator('.toggle-all').isChecked());

    await page.click('label[for="toggle-all"]');
    await waitForTodos(page, [todo('Walk the dog'), todo('Feed the cat')]);
    await waitForText(page, '.todo-count', '2 items left');
    assert.ok(!(await page.locator('.toggle-all').isChecked()));

    await item(page, 'Walk the dog').locator('.toggle').check();
    await item(page, 'Feed the cat').locator('.toggle').check();
    await until(page, 'toggle-all to be checked once every item is', () => document.querySelector('.toggle-all').checked);
    await item(page, 'Feed the cat').locator('.toggle').uncheck();
    await until(page, 'toggle-all to be unchecked', () => !document.querySelector('.toggle-all').checked);
  });

  it('edits: Escape cancels, Enter and blur save trimmed, empty destroys', async () => {
    const li = item(page, 'Feed the cat');
    await li.locator('label').dblclick();
    await until(page, 'the item to be in editing mode', () => document.querySelector('.todo-list li.editing') !== null);
    const input = page.locator('.todo-list li.editing .edit');
    assert.equal(await input.inputValue(), 'Feed the cat');
    assert.ok(await input.evaluate((e) => e === document.activeElement), 'edit field focused');
    assert.ok(await page.locator('.todo-list li.editing .view').isHidden(), 'view hidden while editing');
    await input.fill('Something else');
    await input.press('Escape');
    await until(page, 'editing to end', () => document.querySelector('.todo-list li.editing') === null);
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed the cat')]);

    await editTodo(page, 'Feed the cat', '  Feed the cats  ');
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed the cats')]);

    await item(page, 'Feed the cats').locator('label').dblclick();
    await page.locator('.todo-list li.editing .edit').fill('Feed all cats');
    await page.locator('.new-todo').click(); // blur saves
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed all cats')]);

    await addTodo(page, 'Temporary');
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed all cats'), todo('Temporary')]);
    await editTodo(page, 'Temporary', '   ');
    await waitForTodos(page, [todo('Walk the dog', true), todo('Feed all cats')]);
  });

  it('clear completed removes the completed items; destroy removes one', async () => {
    await page.click('.clear-completed');
    await waitForTodos(page, [todo('Feed all cats')]);
    assert.ok(await page.locator('.clear-completed').isHidden());
    await waitForText(page, '.todo-count', '1 item left');

    const li = item(page, 'Feed all cats');
    await li.hover();
    await li.locator('.destroy').click();
    await waitForTodos(page, []);
    await until(page, 'main and footer to hide', () =>
      document.querySelector('.main').hidden && document.querySelector('.footer').hidden);
  });

  it('an item deleted while another browser ticked it offline (it comes back with only "completed") is not shown', async () => {
    // what that other browser's late write leaves: a document with no title
    await page.evaluate(() => window.syncline.col.doc('ghost').set({ completed: true }));
    await addTodo(page, 'Real one');
    await waitForTodos(page, [todo('Real one')]);
    await waitForText(page, '.todo-count', '1 item left');
  });

  it('uses list "default" without ?list, and refuses bad list names', async () => {
    await page.goto(`${server.url}/`);
    await openApp(page);
    assert.equal(await page.locator('#list-name').textContent(), 'default');
    assert.match(await page.locator('#share-url').inputValue(), /\?list=default$/);

    await page.goto(`${server.url}/?list=${encodeURIComponent('no spaces!')}`);
    await openApp(page);
    assert.equal(await page.locator('#list-name').textContent(), 'default');
    assert.ok(await page.locator('#list-warning').isVisible());
  });

  it('no uncaught errors in any page', () => {
    assert.deepEqual(pageProblems, []);
  });
});

// ---------------------------------------------------------------------------------------------
// Sign-in: a server whose database todo only signed-in users may use

describe('a server that requires sign-in', () => {
  const SIGNED_IN = ['$user'];
  let signInServer, context, page;
  const problems = [];

  before(async () => {
    signInServer = await startServer({
      dataDir: path.join(workDir, 'data-sign-in'),
      webroot,
      databases: [{ name: 'todo', policy: { read: SIGNED_IN, create: SIGNED_IN, update: SIGNED_IN, destroy: SIGNED_IN } }],
      config: { users: [{ username: 'tester', password: 'tester-password', roles: [] }] },
    });
    context = await browser.newContext();
    page = await newPage(context, 'sign-in');
    page.on('pageerror', (error) => problems.push(error.message));
  });
  after(async () => {
    await context?.close();
    await signInServer?.stop();
  });

  it('shows the sign-in form, signs in, then adds an item', async () => {
    await page.goto(`${signInServer.url}/?list=${randomList('private')}`);
    await page.waitForSelector('html[data-app="ready"]', { timeout: UI_DEADLINE_MS });
    await waitOnline(page, true);
    await until(page, 'the sign-in form (the list is forbidden)', () => !document.querySelector('#sign-in').hidden);
    assert.equal((await page.locator('#sign-in-reason').textContent()).trim(), 'Sign in to see this list.');
    assert.ok(await page.locator('#show-sign-in').isVisible(), 'the account line offers "Sign in"');

    await page.locator('#username').fill('tester');
    await page.locator('#password').fill('not-the-password');
    await page.locator('#sign-in-submit').click();
    await waitForText(page, '#sign-in-error', 'Wrong username or password.');
    await page.screenshot({ path: path.join(TARGET, 'todo-sign-in.png') });

    // Offline, a sign-in says so at once, not after the SDK's 10 s wait for a connection.
    await context.setOffline(true);
    await waitOnline(page, false);
    await page.locator('#password').fill('tester-password');
    await page.locator('#sign-in-submit').click();
    await waitForText(page, '#sign-in-error', 'Not connected to the server. Try again when online.');
    await context.setOffline(false);
    await waitOnline(page, true);

    await page.locator('#password').fill('tester-password');
    await page.locator('#sign-in-submit').click();
    await until(page, 'the form to close', () => document.querySelector('#sign-in').hidden);
    await waitForText(page, '#user-name', 'tester');
    assert.ok(await page.locator('#sign-out').isVisible());

    await addTodo(page, 'Signed-in item');
    await waitForTodos(page, [todo('Signed-in item')]);
    await waitPending(page, 'zero', 'the server recorded the signed-in item');

    // A reload stays signed in, with the token from IndexedDB.
    await page.reload();
    await page.waitForSelector('html[data-app="ready"]', { timeout: UI_DEADLINE_MS });
    await waitOnline(page, true);
    await waitForText(page, '#user-name', 'tester');
    await waitForTodos(page, [todo('Signed-in item')]);
    assert.ok(await page.locator('#sign-in').isHidden());

    // Signing out with a change not yet on the server asks first; cancelled, nothing is dropped.
    await context.setOffline(true);
    await waitOnline(page, false);
    await addTodo(page, 'Unsaved item');
    await waitUnsaved(page, 1, 'the unsaved item waits'); // one todo, though two attributes (title, completed)
    const question = page.waitForEvent('dialog');
    const clicked = page.locator('#sign-out').click();
    const dialog = await question;
    assert.match(dialog.message(), /^1 todo is not saved on the server yet\. Signing out drops its changes\. Sign out anyway\?$/);
    await dialog.dismiss();
    await clicked;
    await waitForText(page, '#user-name', 'tester');
    await waitForTodos(page, [todo('Signed-in item'), todo('Unsaved item')]);
    await context.setOffline(false);
    await waitOnline(page, true);
    await waitPending(page, 'zero', 'the unsaved item reached the server');

    // Signing out drops the list and asks again.
    await page.locator('#sign-out').click();
    await waitForTodos(page, []);
    await until(page, 'the sign-in form again', () => !document.querySelector('#sign-in').hidden);
    assert.ok(await page.locator('#show-sign-in').isVisible());
    assert.deepEqual(problems, []);
  });

  it('an item a guest may not add is taken back, its title put back in the input, and the sign-in form says it was not saved', async () => {
    // lists anyone may read, and only signed-in users change
    const guestbook = await startServer({
      dataDir: path.join(workDir, 'data-guestbook'),
      webroot,
      databases: [{ name: 'todo', policy: { read: ['$all'], create: SIGNED_IN, update: SIGNED_IN, destroy: SIGNED_IN } }],
    });
    after(() => guestbook.stop());
    const guest = await newPage(context, 'guest');
    await guest.goto(`${guestbook.url}/?list=${randomList('guestbook')}`);
    await guest.waitForSelector('html[data-app="ready"]', { timeout: UI_DEADLINE_MS });
    await waitOnline(guest, true);
    assert.ok(await guest.locator('#sign-in').isHidden(), 'anyone may see the guestbook');
    await addTodo(guest, 'Guest item');
    await until(guest, 'the sign-in form', () => !document.querySelector('#sign-in').hidden);
    assert.equal((await guest.locator('#sign-in-reason').textContent()).trim(),
      'Your change was not saved. Sign in to change this list.');
    await waitForTodos(guest, []);
    // what was typed is not lost: the refused title is back in the input
    await until(guest, 'the refused title back in the input', () => document.querySelector('.new-todo').value === 'Guest item');
    await guest.close();
  });
});
