// Starts the real Syncline server jar for integration tests: a free port (port 0, read back
// from its log line), a temporary data folder, a JSON config. No mocks.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The jar `mvn install` builds; SYNCLINE_SERVER_JAR points elsewhere. */
export const JAR = process.env.SYNCLINE_SERVER_JAR ?? join(ROOT, 'server', 'target', 'syncline-server.jar');

/** The password of user `admin` (role admin), which the server creates at its first start. */
export const ADMIN_PASSWORD = 'admin-password-for-tests';

/** A policy that lets everyone, signed in or not, do everything. */
export const OPEN_POLICY = Object.freeze({ read: ['$all'], create: ['$all'], update: ['$all'], destroy: ['$all'] });

/** Config entries for databases open to everyone (a database's default policy is signed-in users only). */
export function openDatabases(names) {
  return names.map((name) => ({ name, policy: OPEN_POLICY }));
}

/** Throws a clear message when the jar has not been built. */
export function requireJar() {
  if (!existsSync(JAR)) {
    throw new Error(`The integration tests need the server jar at ${JAR}, which does not exist. `
      + `Build it first: cd ${ROOT} && mvn -q -B install -DskipTests`);
  }
}

/** A fresh temporary folder, removed by cleanup(). */
export function tempDir(prefix = 'syncline-js-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * Starts a server. Options: data (folder; default a new temp folder), config (object written as
 * the --config file; default: database todo, open to everyone), port (default 0 = any free port).
 * User `admin` has the password ADMIN_PASSWORD (set through SYNCLINE_ADMIN_PASSWORD).
 * Resolves to {port, url, data, stop(signal), kill(), log()} once it logs that it is listening.
 */
export async function startServer({ data = tempDir(), config = { databases: openDatabases(['todo']) }, port = 0, timeoutMs = 60000 } = {}) {
  requireJar();
  const configFile = join(data, '..', `${data.split(/[\\/]/).pop()}.config.json`);
  writeFileSync(configFile, JSON.stringify(config));
  const child = spawn('java', ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xshare:auto', '-jar', JAR,
    '--port', String(port), '--data', data, '--config', configFile],
  { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SYNCLINE_ADMIN_PASSWORD: ADMIN_PASSWORD } });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening:\n${output}`));
    });
  });
  const boundPort = await listening;
  return {
    port: boundPort,
    url: `ws://127.0.0.1:${boundPort}/sync`,
    data,
    log: () => output,
    /** SIGTERM (graceful: clients get 1001) or another signal; resolves when the process is gone. */
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    /** SIGSTOP: the process freezes; its sockets stay open but nothing answers (a dead link). */
    pause() {
      child.kill('SIGSTOP');
    },
    /** SIGCONT: after pause(). */
    resume() {
      child.kill('SIGCONT');
    },
    /** SIGKILL: a crash. */
    kill() {
      return this.stop('SIGKILL');
    },
    cleanup() {
      rmSync(data, { recursive: true, force: true });
      rmSync(configFile, { force: true });
    },
  };
}
