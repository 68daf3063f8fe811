// Finding `ws` in Node without a built-in WebSocket, as an app that installed the SDK from a
// folder sees it: the SDK's files lie outside the app, with no node_modules in reach, and `ws` is
// in the app's node_modules. Each case runs an app as its own Node process (without
// globalThis.WebSocket, as in Node 20) against the real server.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startServer, tempDir } from './support/server.js';

const SDK = join(dirname(fileURLToPath(import.meta.url)), '..');
let server;
const folders = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
  server?.cleanup();
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A folder with the SDK's sources in sdk/ and an app in app/, with `ws` installed or not. */
function layout({ appHasWs }) {
  const root = tempDir('syncline-ws-');
  folders.push(root);
  cpSync(join(SDK, 'src'), join(root, 'sdk', 'src'), { recursive: true });
  writeFileSync(join(root, 'sdk', 'package.json'), JSON.stringify({ name: '@syncline/client', type: 'module' }));
  mkdirSync(join(root, 'app'));
  writeFileSync(join(root, 'app', 'package.json'), JSON.stringify({ name: 'app', type: 'module' }));
  if (appHasWs) cpSync(join(SDK, 'node_modules', 'ws'), join(root, 'app', 'node_modules', 'ws'), { recursive: true });
  return { app: join(root, 'app'), sdk: pathToFileURL(join(root, 'sdk', 'src', 'index.js')).href };
}

/** Runs an app in `app` that connects with the SDK; resolves to what it printed: {connected} or {error}. */
function runApp({ app, sdk }, options = '') {
  const script = `
    delete globalThis.WebSocket;
    const { createClient } = await import(${JSON.stringify(sdk)});
    const client = createClient({ url: ${JSON.stringify(server.url)}${options} });
    const done = async (result) => { console.log(JSON.stringify(result)); await client.close(); process.exit(0); };
    client.on('connect', () => done({ connected: true }));
    client.on('error', (e) => done({ error: e }));
    setTimeout(() => done({ error: 'no connection within 10 s' }), 10000);`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`the app printed: ${out}`));
      }
    });
  });
}

describe('ws in Node', () => {
  it('an SDK installed from a folder finds the app\'s ws and connects', async () => {
    assert.deepEqual(await runApp(layout({ appHasWs: true })), { connected: true });
  });

  it('with ws nowhere, the error event says to install it or pass {WebSocket}', async () => {
    const { error } = await runApp(layout({ appHasWs: false }));
    assert.equal(error.code, 'network');
    assert.match(error.message, /npm install ws/);
    assert.match(error.message, /WebSocket/);
  });

  it('a WebSocket passed as an option is used', async () => {
    const where = layout({ appHasWs: false });
    const ws = pathToFileURL(join(SDK, 'node_modules', 'ws', 'wrapper.mjs')).href;
    assert.deepEqual(await runApp(where, `, WebSocket: (await import(${JSON.stringify(ws)})).WebSocket`), { connected: true });
  });
});
