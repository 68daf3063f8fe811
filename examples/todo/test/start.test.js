// `npm start` runs the real server jar: what it prints on a first start (the admin password,
// shown only then) must reach the terminal.
//
//   npm test            (needs server/target/syncline-server.jar)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { EXAMPLE_DIR, missingPrerequisites } from '../scripts/syncline.js';

const missing = missingPrerequisites();
if (missing.length) throw new Error(`Cannot run the npm start test:\n- ${missing.join('\n- ')}`);

it('npm start shows the server output, the first start\'s admin password too', async (t) => {
  const workDir = await mkdtemp(path.join(tmpdir(), 'syncline-todo-start-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['scripts/start.js', '--port', '0', '--data', path.join(workDir, 'data')],
    { cwd: EXAMPLE_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let output = '';
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not say where the app is within 30 s:\n${output}`)), 30_000);
      const onData = (chunk) => {
        output += chunk;
        if (/Todo app: http:\/\/localhost:\d+\/\?list=default/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.setEncoding('utf8').on('data', onData);
      child.stderr.setEncoding('utf8').on('data', onData);
      exited.then((exit) => { clearTimeout(timer); reject(new Error(`npm start exited ${JSON.stringify(exit)}:\n${output}`)); });
    });
    assert.match(output, /created user 'admin' with password \S+/);
    assert.match(output, /listening on http:\/\/127\.0\.0\.1:\d+/);
    assert.doesNotMatch(output, /syncline-java-pid/);
    assert.doesNotMatch(output, /can be read by other users/); // the server makes its data folder itself
  } finally {
    child.kill('SIGTERM');
    const exit = await exited;
    assert.deepEqual(exit, { code: 0, signal: null }, output);
  }
});
