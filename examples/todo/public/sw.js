// Service worker of the todo app: keeps the app shell (the page, its script and styles, the SDK's
// modules) so that a reload or a new tab opens while the server cannot be reached. The todos are
// not here: the SDK keeps them, and the edits not yet sent, in IndexedDB.
//
// Strategy: network first, the kept copy as fallback. Online, every shell file comes from the
// server, revalidated past the HTTP cache (a folder served by another server may let browsers keep files),
// so a new version of the app shows on the next load, all of its files from one version, and the
// SDK is the one that came with the server it talks to. Stale-while-revalidate would open a little
// faster, but show the previous version once after every upgrade, or an old app.js beside a new
// SDK module. Only the files below are answered here: the WebSocket (a service worker never sees
// it), /health, /auth/, /admin/ and anything else go to the network as if there were no worker.

const CACHE_PREFIX = 'syncline-todo-shell-';
/** Change the version when the way files are kept changes; activation drops the other versions. */
const CACHE = `${CACHE_PREFIX}v1`;

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
  // all or nothing: a failed download fails the install, and the next page load tries again
  event.waitUntil(caches.open(CACHE)
    .then((cache) => cache.addAll(SHELL.map((file) => new Request(file, { cache: 'no-cache' }))))
    // a new version takes over at once rather than after every tab of the old one closed: both
    // fetch from the network first, so pages open now see no difference
    .then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys().then((names) => Promise.all(names
    .filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE)
    .map((name) => caches.delete(name)))));
});

self.addEventListener('fetch', (event) => {
  const key = shellKey(event.request);
  if (key === null) return;
  const fromNetwork = fetch(event.request, { cache: 'no-cache' });
  // kept for next time, also when it comes after the timeout below. Copied here, in the first
  // callback on fromNetwork: once the page has read the answer's body, it can no longer be copied
  event.waitUntil(fromNetwork.then((response) => {
    // a redirected answer may not answer a navigation from the cache; the page is not redirected
    if (!response.ok || response.redirected) return undefined;
    const copy = response.clone();
    return caches.open(CACHE).then((cache) => cache.put(key, copy));
  }).catch(() => {}));
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
  const kept = await caches.match(key, { cacheName: CACHE });
  // nothing kept yet: the network's answer or failure, as with no worker
  return kept ?? fromNetwork;
}
