// The one error type the SDK throws and emits.

/**
 * An error with a protocol `code` (PROTOCOL.md §12: 'bad_request', 'too_large', 'not_found', …)
 * or one of the SDK's own: 'storage' (the local store failed) and 'protocol' (the server sent a
 * message this SDK could not read). Match on `code`; `message` is for people.
 */
export class SynclineError extends Error {
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'SynclineError';
    this.code = code;
    for (const key of ['db', 'col', 'id', 'attr', 'retryAfterMs', 'serverTime']) {
      if (details[key] !== undefined) this[key] = details[key];
    }
  }
}

/**
 * The plain object emitted with the 'error' event: {code, message, db?, col?, id?, attr?,
 * servers?}; servers comes with quorum_timeout.
 */
export function errorEvent(code, message, details = {}) {
  const event = { code, message };
  for (const key of ['db', 'col', 'id', 'attr', 'servers']) {
    if (details[key] !== undefined) event[key] = details[key];
  }
  return event;
}
