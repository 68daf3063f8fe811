// Service worker of the todo app: keeps the app shell (the page, its script and styles, the SDK's
// modules) so that a reload or a new tab opens while the server cannot be reached. The todos are
// not here: the SDK keeps them, and the edits not yet sent, in IndexedDB.
//
// Strategy: network first, the kept copy as fallback. Online, every shell file comes from the
// server, revalidated past the HTTP cache (a folder served by another server may let browsers keep
// files), so a new version of the app shows on the next load, and the SDK is the one that came with
// the server it talks to. Stale-while-revalidate would open a little faster, but show the previous
// version once after every upgrade, or an old app.js beside a new SDK module.
//
// The kept copy is whole: every file of one version, fetched together into a cache of its own
// (a "copy"), after the install and after an online load whose page differs from the kept one.
// Files kept one by one as the page loads them would mix versions when an upgrade lands during a
// load, or a load is cut off part way. Only the files below are answered here: the WebSocket (a
// service worker never sees it), /health, /auth/, /admin/ and anything else go to the network as
// if there were no worker.

const CACHE_PREFIX = 'syncline-todo-shell-';
/**
 * Copies are named COPY_PREFIX + the time they were started + a random suffix, so the newest sorts
 * last. Change the version when the way files are kept changes; activation drops the other ones.
 */
const COPY_PREFIX = `${CACHE_PREFIX}v2-`;

/**
 * The shell, relative to this script: the page, what it loads, and every module app.js imports,
 * directly or not (test/service-worker.test.js checks this list against the imports).
 */
const SHELL = [
  './',
  'app.js',
  'styles.css',
  'sdk/index.js',
  'sdk/auth.js',
  'sdk/client.js',
  'sdk/codec.js',
  'sdk/core.js',
  'sdk/emitter.js',
  'sdk/errors.js',
  'sdk/handles.js',
  'sdk/hlc.js',
  'sdk/live.js',
  'sdk/merge.js',
  'sdk/names.js',
  'sdk/replica.js',
  'sdk/session.js',
  'sdk/tabs.js',
  'sdk/transport.js',
  'sdk/ulid.js',
  'sdk/values.js',
  'sdk/visibility.js',
  'sdk/websocket.js',
  'sdk/stores/batch.js',
  'sdk/stores/indexeddb.js',
  'sdk/stores/memory.js',
];

/**
 * A network that neither answers nor fails (a captive portal, a Wi-Fi that is fading) would hold
 * the page until the browser gives up, for minutes: after this long the kept copy is shown, and
 * the network's answer, if it comes, is still kept for next time.
 */
const NETWORK_TIMEOUT_MS = 5_000;

const PAGE = new URL('./', self.location).href;
const SHELL_URLS = new Set(SHELL.map((file) => new URL(file, self.location).href));

self.addEventListener('install', (event) => {
  // a failed download fails the install, and the next page load tries again
  event.waitUntil(keepShell()
    // a new version takes over at once rather than after every tab of the old one closed: both
    // fetch from the network first, so pages open now see no difference
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names
    .filter((name) => name.startsWith(CACHE_PREFIX) && !name.startsWith(COPY_PREFIX))
    .map((name) => caches.delete(name)))));
});

self.addEventListener('fetch', (event) => {
  const key = shellKey(event.request);
  if (key === null) return;
  const fromNetwork = fetch(event.request, { cache: 'no-cache' });
  if (key === PAGE) {
    // a page other than the kept one: a new version, kept whole once all of it downloads.
    // Still kept when the answer comes after the timeout below
    event.waitUntil(fromNetwork.then(async (response) => {
      if (response.ok && !response.redirected && !sameVersion(response, await kept(PAGE))) await keepShell();
    }).catch(() => {}));
  }
  event.respondWith(networkFirst(fromNetwork, key));
});

/** The cache key of a request for a shell file, or null for anything else. */
function shellKey(request) {
  if (request.method !== 'GET') return null;
  const url = new URL(request.url);
  url.hash = '';
  if (request.mode === 'navigate') {
    // every list (?list=NAME) is the same page
    url.search = '';
    return url.href === PAGE || url.href === `${PAGE}index.html` ? PAGE : null;
  }
  return SHELL_URLS.has(url.href) ? url.href : null;
}

/**
 * Downloads every shell file into a new copy, all or nothing (Cache.addAll), then drops the older
 * copies. A copy that fails is dropped and the last whole one stays.
 */
async function keepShell() {
  const name = `${COPY_PREFIX}${String(Date.now()).padStart(15, '0')}-${Math.random().toString(36).slice(2, 8)}`;
  const copy = await caches.open(name);
  try {
    await copy.addAll(SHELL.map((file) => new Request(file, { cache: 'no-cache' })));
  } catch (error) {
    await caches.delete(name);
    throw error;
  }
  const older = (await copies()).filter((other) => other < name);
  await Promise.all(older.map((other) => caches.delete(other)));
}

/** The copies, newest first. */
async function copies() {
  return (await caches.keys()).filter((name) => name.startsWith(COPY_PREFIX)).sort().reverse();
}

/**
 * The kept answer for `key`, from the newest copy that holds it: one still downloading holds
 * nothing yet (addAll puts all or nothing), so the answer comes from the last whole one. Copies
 * are read by name, never opened: a download that ends meanwhile drops the older copies, and
 * caches.open would make a dropped one again, empty. When none held it and the copies changed
 * meanwhile (the one still downloading is whole now, the one read next was dropped), they are
 * read again.
 */
async function kept(key) {
  let names = await copies();
  for (let round = 0; round < 3; round++) {
    for (const name of names) {
      const answer = await caches.match(key, { cacheName: name });
      if (answer) return answer;
    }
    const now = await copies();
    if (now.join('\n') === names.join('\n')) break;
    names = now;
  }
  return undefined;
}

/**
 * Whether two answers for the page are the same version, by their validators; without any, no.
 * The bundled web root dates every file at the server's start, so an upgrade shows here; a folder
 * served with --static (npm start) sends none, and then every online load downloads the shell
 * again (~190 KB), cheap where the example runs and never stale.
 */
function sameVersion(a, b) {
  if (!b) return false;
  for (const header of ['etag', 'last-modified']) {
    const value = a.headers.get(header);
    if (value) return value === b.headers.get(header);
  }
  return false;
}

/**
 * The network's answer; the kept copy when the network fails, takes too long, or answers with a
 * server error: a reverse proxy (TLS ends there, see README) answers 502, 503 or 504 for a server
 * that is down or restarting.
 */
async function networkFirst(fromNetwork, key) {
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(reject, NETWORK_TIMEOUT_MS, new Error('the network did not answer in time'));
  });
  try {
    const response = await Promise.race([fromNetwork, timeout]);
    if (response.status < 500) return response;
  } catch {
    // failed or too slow: the kept copy
  } finally {
    clearTimeout(timer);
  }
  // nothing kept yet: the network's answer or failure, as with no worker
  return (await kept(key)) ?? fromNetwork;
}
