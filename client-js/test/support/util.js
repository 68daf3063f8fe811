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
