// Small helpers shared by the tests.

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once check() is truthy (polled), or rejects after `timeout` ms naming `what` and
 * what `detail()` says about the state then.
 */
export async function until(check, { timeout = 10000, every = 10, what = 'condition', detail = null } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail ? `: ${detail()}` : ''}`);
    await sleep(every);
  }
}

/** Records every event of the given names a client emits: {name, payload}[]. */
export function recordEvents(client, names = ['doc:create', 'doc:update', 'doc:destroy', 'doc:record', 'error', 'connect', 'disconnect']) {
  const log = [];
  for (const name of names) client.on(name, (payload) => log.push({ name, payload }));
  return log;
}

/** A small seeded generator (mulberry32) of numbers in [0, 1), so a random test can be replayed. */
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Runs `fn(reported)` with globalThis.reportError collecting what the SDK reports of the app's
 * code (a listener or a live query that threw), and puts reportError back after.
 */
export async function capturingReports(fn) {
  const reported = [];
  const before = globalThis.reportError;
  globalThis.reportError = (e) => reported.push(e);
  try {
    return await fn(reported);
  } finally {
    globalThis.reportError = before;
  }
}
