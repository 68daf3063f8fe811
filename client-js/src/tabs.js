// Tabs of one app on one store keep each other's in-memory replica in step over a
// BroadcastChannel named after the store. Every tab already reads the shared store at start;
// after that it hears of the others' local edits, applied remote changes, acks and resets.
// Merge is idempotent, so hearing of a change twice (or of one this tab also received from the
// server) is harmless.

/**
 * Opens the channel for store `name` and calls `receive(message)` for what other tabs post.
 * Returns {post(message), close()}, or null where there is no BroadcastChannel or no name.
 */
export function openTabChannel(name, receive) {
  if (!name || typeof globalThis.BroadcastChannel !== 'function') return null;
  const channel = new globalThis.BroadcastChannel(`syncline:${name}`);
  channel.onmessage = (event) => receive(event.data);
  return {
    post(message) {
      try {
        channel.postMessage(message);
      } catch {
        // the channel was closed, or a value could not be cloned: other tabs will read the store
      }
    },
    close() {
      channel.onmessage = null;
      channel.close();
    },
  };
}
