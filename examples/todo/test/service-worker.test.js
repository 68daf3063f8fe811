// The service worker (public/sw.js) keeps a list of the files the page needs to open offline.
// A module missing from it fails the page only on a reload without the server, so this checks the
// list against what index.html loads and what app.js imports, directly or not.
//
//   npm test

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import vm from 'node:vm';
import { EXAMPLE_DIR, SDK_DIR } from '../scripts/syncline.js';

const PUBLIC = path.join(EXAMPLE_DIR, 'public');

/** The file of the web root at `file` (relative to it): public/**, and the SDK's src/** under sdk/. */
function onDisk(file) {
  return file.startsWith('sdk/') ? path.join(SDK_DIR, file.slice('sdk/'.length)) : path.join(PUBLIC, file);
}

/** The web root's files that `file`'s static imports and re-exports reach, `file` included. */
async function moduleGraph(file, seen = new Set()) {
  if (seen.has(file)) return seen;
  seen.add(file);
  const source = await readFile(onDisk(file), 'utf8');
  // `import … from '…'`, `export … from '…'` and `import '…'`; not import('…'), which the browser build never runs
  for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\s(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]/gm)) {
    assert.match(specifier, /^\.\.?\//, `${file} imports ${specifier}: the page can load relative modules only`);
    await moduleGraph(path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)), seen);
  }
  return seen;
}

it('the service worker keeps the page, what it loads, and every module app.js reaches', async () => {
  const worker = await readFile(path.join(PUBLIC, 'sw.js'), 'utf8');
  const list = worker.match(/^const SHELL = \[([^\]]*)\];$/m);
  assert.ok(list, 'sw.js declares const SHELL = [ … ];');
  const kept = [...list[1].matchAll(/'([^']+)'/g)].map((m) => m[1]);

  const page = await readFile(path.join(PUBLIC, 'index.html'), 'utf8');
  const loaded = [...page.matchAll(/<(?:script|link)\b[^>]*\s(?:src|href)="([^":]+)"/g)].map((m) => m[1]);
  assert.ok(loaded.includes('app.js') && loaded.includes('styles.css'), `index.html loads ${loaded}`);
  const modules = [];
  for (const file of loaded.filter((f) => f.endsWith('.js'))) modules.push(...await moduleGraph(file));

  const needed = new Set(['./', ...loaded, ...modules]);
  assert.deepEqual([...needed].filter((f) => !kept.includes(f)), [], 'files the page needs that sw.js does not keep');
  assert.deepEqual(kept.filter((f) => !needed.has(f)), [], 'files sw.js keeps that the page does not need');
});

/**
 * sw.js's own functions, run in a context whose CacheStorage behaves as browsers' does: open()
 * makes a cache that does not exist, match() with a cacheName does not. `hook(name)` runs before
 * each lookup of a cache by name.
 */
async function worker(hook) {
  const stored = new Map();
  const cache = (name) => ({
    match: async (key) => stored.get(name)?.get(String(key)),
    put: async (key, value) => { stored.get(name)?.set(String(key), value); },
  });
  const caches = {
    keys: async () => [...stored.keys()],
    open: async (name) => {
      await hook(name);
      if (!stored.has(name)) stored.set(name, new Map());
      return cache(name);
    },
    delete: async (name) => stored.delete(name),
    match: async (key, { cacheName } = {}) => {
      await hook(cacheName);
      return stored.get(cacheName)?.get(String(key));
    },
  };
  const self = { location: new URL('http://app.example/'), addEventListener() {} };
  const context = vm.createContext({ self, caches, URL, setTimeout, clearTimeout });
  vm.runInContext(await readFile(path.join(PUBLIC, 'sw.js'), 'utf8'), context);
  return { context, stored };
}

it('the kept page is found while a download finishes and drops the copy being read, which is not made again', async () => {
  const prefix = 'syncline-todo-shell-v2-';
  const older = `${prefix}000000000000001-aaaaaa`;
  const newer = `${prefix}000000000000002-bbbbbb`;
  let stored;
  let done = false;
  // the newer copy is still downloading when the lookup starts; its download ends, and drops the
  // older one, just before the lookup reaches the older one
  const { context, stored: s } = await worker(async (name) => {
    if (name !== older || done) return;
    done = true;
    stored.get(newer).set('http://app.example/', 'new page');
    stored.delete(older);
  });
  stored = s;
  stored.set(older, new Map([['http://app.example/', 'old page']]));
  stored.set(newer, new Map());
  const answer = await context.kept('http://app.example/');
  assert.equal(answer, 'new page', 'the whole copy there is');
  assert.deepEqual([...stored.keys()], [newer], 'the dropped copy is not made again, empty');
});
