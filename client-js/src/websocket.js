// Which WebSocket to use: the one passed in, else the platform's (browsers, Deno, Node 22+),
// else the `ws` package (Node 20 and older), loaded only when needed so browsers never see it.

let wsPackage = null;

/** Resolves to a WebSocket constructor with the browser API (onopen, onmessage, send, close). */
export async function resolveWebSocket(override) {
  if (override) return override;
  if (typeof globalThis.WebSocket === 'function') return globalThis.WebSocket;
  if (!wsPackage) {
    wsPackage = import('ws').then(
      (m) => m.WebSocket ?? m.default,
      () => {
        wsPackage = null;
        throw new Error('no WebSocket here: install the `ws` package (npm install ws) or pass {WebSocket}');
      },
    );
  }
  return wsPackage;
}
