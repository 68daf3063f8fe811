// Runs the real Syncline server jar for this example: used by the end-to-end test and by
// `npm start`. The web root is assembled the way the server's build lays it out: public/** at
// the root and the SDK's src/** under sdk/.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const EXAMPLE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(EXAMPLE_DIR, '../..');
export const JAR = process.env.SYNCLINE_JAR ?? path.join(REPO_DIR, 'server/target/syncline-server.jar');
export const SDK_DIR = process.env.SYNCLINE_SDK_DIR ?? path.join(REPO_DIR, 'client-js/src');

/**
 * Runs "$@" (java …) and exits with its status; stops it (SIGTERM) as soon as our stdin reaches
 * its end, which happens on stop() and also when the node process dies without cleaning up.
 */
const WATCHDOG = String.raw`
"$@" </dev/null &
pid=$!
echo "syncline-java-pid $pid" >&2
trap 'kill -TERM $pid 2>/dev/null' TERM INT HUP
exec 3<&0
(cat <&3 >/dev/null; kill -TERM $pid) >/dev/null 2>&1 &
exec 3<&-
wait $pid
status=$?
while kill -0 $pid 2>/dev/null; do wait $pid; status=$?; done
exit $status
`;

/** What is missing to run the server with this working copy's web root (empty when nothing). */
export function missingPrerequisites({ sdk = true } = {}) {
  const missing = [];
  if (!existsSync(JAR)) {
    missing.push(`Syncline server jar not found at ${JAR}. Build it first: cd ${REPO_DIR} && mvn -q -B install -DskipTests`);
  }
  if (sdk && !existsSync(path.join(SDK_DIR, 'index.js'))) {
    missing.push(`The JavaScript SDK is missing: ${path.join(SDK_DIR, 'index.js')} does not exist (SYNCLINE_SDK_DIR overrides the folder).`);
  }
  return missing;
}

/** Copies public/ and the SDK into a fresh `dir`, laid out as the server serves them. */
export async function assembleWebroot(dir) {
  if (!existsSync(path.join(SDK_DIR, 'index.js'))) {
    throw new Error(`The JavaScript SDK is missing: ${path.join(SDK_DIR, 'index.js')} does not exist ` +
      '(set SYNCLINE_SDK_DIR to use another folder).');
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await cp(path.join(EXAMPLE_DIR, 'public'), dir, { recursive: true });
  await cp(SDK_DIR, path.join(dir, 'sdk'), { recursive: true });
  return dir;
}

/**
 * Starts `java -jar syncline-server.jar` and resolves once it logs its address. `config` adds
 * keys to its config file (users, policies: see the server's README); `databases` defaults to
 * ['todo'], which the server opens to everyone. `onOutput(text)`, when given, gets the server's
 * output as it comes (`npm start` shows it: the first start prints the admin password only then).
 * Returns { url, port, log(), stop() }; stop() is safe to call more than once.
 */
export async function startServer({ dataDir, webroot, port = 0, databases = ['todo'], config = {}, startTimeoutMs = 30_000,
  onOutput = null }) {
  if (!existsSync(JAR)) {
    throw new Error(`Syncline server jar not found at ${JAR}. Build it first: ` +
      `cd ${REPO_DIR} && mvn -q -B install -DskipTests`);
  }
  // the server makes the data folder itself, readable by its owner only (it holds password hashes)
  await mkdir(path.dirname(dataDir), { recursive: true });
  const configFile = path.join(dataDir, '..', `${path.basename(dataDir)}-config.json`);
  await writeFile(configFile, JSON.stringify({ databases, ...config }));

  const args = ['-jar', JAR, '--port', String(port), '--data', dataDir, '--config', configFile];
  if (webroot) args.push('--static', webroot);
  // java runs under a small sh that stops it (SIGTERM: graceful) when our end of its stdin closes:
  // on stop(), and also when this process dies without cleaning up (killed test runner, EPIPE…),
  // so no server is left behind.
  const child = spawn('sh', ['-c', WATCHDOG, 'sh', process.env.JAVA ?? 'java', ...args],
    { stdio: ['pipe', 'pipe', 'pipe'] });

  let output = '';
  let javaPid = null;
  let exitInfo = null;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => {
    exitInfo = { code, signal };
    resolve(exitInfo);
  }));

  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(
      `Syncline server did not log "listening on" within ${startTimeoutMs} ms. Output:\n${output}`)), startTimeoutMs);
    const onData = (chunk) => {
      output += chunk;
      const shown = chunk.replace(/^syncline-java-pid \d+\n/m, ''); // the watchdog's line, not the server's
      if (onOutput && shown) onOutput(shown);
      if (output.length > 200_000) output = output.slice(-100_000);
      javaPid ??= Number(output.match(/^syncline-java-pid (\d+)$/m)?.[1]) || null;
      const match = output.match(/listening on (http:\/\/[^\s:]+:(\d+))/);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1], port: Number(match[2]) });
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    child.once('error', (error) => { clearTimeout(timer); reject(new Error(`Could not run sh: ${error.message}`)); });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`Syncline server exited (code ${code}, signal ${signal}) before listening. Output:\n${output}`));
    });
  }).catch(async (error) => {
    await stop();
    throw error;
  });

  /** Stops the server gracefully (closes sockets, finishes commits, closes the store); kills it after 10 s. */
  async function stop() {
    if (exitInfo) return exitInfo;
    child.stdin.end();
    let timer;
    const timeout = new Promise((resolve) => { timer = setTimeout(resolve, 10_000, 'timeout'); });
    const first = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (first === 'timeout') {
      if (javaPid) {
        try { process.kill(javaPid, 'SIGKILL'); } catch { /* already gone */ }
      }
      child.kill('SIGKILL');
      await exited;
    }
    return exitInfo;
  }

  return { ...address, log: () => output, stop };
}
