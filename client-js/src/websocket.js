// Which WebSocket to use: the one passed in, else the platform's (browsers, Deno, Node 22+),
// else the `ws` package (Node 20 and 21), loaded only when needed so browsers never see it.
//
// `ws` is looked for first from this file, then from the app (the folder Node runs in). The
// second matters when the SDK is installed from a folder (`npm install path/to/client-js`
// links it): Node resolves the SDK's imports from where it really lies, where the app's
// node_modules is out of reach.

let wsPackage = null;

/** The specifier is a variable so that bundlers for the browser do not try to include it. */
const NODE_MODULE = 'node:module';

/** Resolves to a WebSocket constructor with the browser API (onopen, onmessage, send, close). */
export async function resolveWebSocket(override) {
  if (override) return override;
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  if (!wsPackage) {
    wsPackage = loadWs().catch((e) => {
      wsPackage = null; // installed later: try again on the next connection
      throw e;
    });
  }
  return wsPackage;
}

async function loadWs() {
  try {
    return constructorOf(await import('ws'));
  } catch {
    // not in reach of the SDK: try the app's
  }
  const cwd = globalThis.process?.cwd?.();
  if (cwd) {
    try {
      const { createRequire } = await import(NODE_MODULE);
      // a file name in the app's folder; it need not exist
      return constructorOf(createRequire(`${cwd}/package.json`)('ws'));
    } catch {
      // not in the app either
    }
  }
  throw new Error('no WebSocket here: install the `ws` package in your app (npm install ws), '
    + 'or pass one: createClient({url, WebSocket})');
}

function constructorOf(m) {
  const Ctor = m.WebSocket ?? m.default ?? m;
  if (typeof Ctor !== 'function') throw new Error('`ws` exports no WebSocket');
  return Ctor;
}
