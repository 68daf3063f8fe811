// @syncline/client: offline-first SDK for Syncline. This file only re-exports.

export { createClient } from './client.js';
export { memoryStore } from './stores/memory.js';
export { indexedDbStore } from './stores/indexeddb.js';
export { SynclineError } from './errors.js';

// The protocol's building blocks, for tools and tests.
export { Clock, compareTimestamps, formatTimestamp, isOrigin, isTimestamp, parseTimestamp, timestampFault } from './hlc.js';
export { compareValues, decide } from './merge.js';
export { visible } from './visibility.js';
export { checkDelta, DEFAULT_LIMITS, isDatabaseName } from './names.js';
export { decodeServer, encodeClient } from './codec.js';
export { ulidGenerator } from './ulid.js';
