// Type declarations for @syncline/client (hand-written; the sources are plain ES modules).

/** Any JSON value. Numbers must be finite; strings must not hold unpaired surrogates. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A visible document: its id and its visible attributes (`$owner` included, `$deleted` never). Frozen. */
export type Doc = { readonly id: string; readonly [attr: string]: JsonValue };

/** A filter: null (every document), {attr: value, …} (JSON equality on each), or a predicate. */
export type Filter = null | undefined | { [attr: string]: JsonValue } | ((doc: Doc) => boolean);

export interface ClientOptions {
  /** WebSocket URL of the server, e.g. 'ws://localhost:8080/sync'. */
  url: string;
  /** Where the replica, pending queue, cursors, clientId and clock live. Default: memoryStore(). */
  store?: Store;
  /** This install's ORIGIN: 1 to 64 of [A-Za-z0-9_.:-]. Default: the stored one, else a new random one (kept). */
  clientId?: string;
  /** WebSocket constructor to use. Default: globalThis.WebSocket, else the `ws` package. */
  WebSocket?: unknown;
  /** Start without connecting (see client.offline()). Default false. */
  offline?: boolean;
  /** Wall clock in epoch ms. Default Date.now (tests may skew it). */
  now?: () => number;
  /** First reconnect delay in ms; doubles per failed attempt, with jitter. Default 250. */
  backoffInitialMs?: number;
  /** Longest reconnect delay in ms. Default 10000. */
  backoffMaxMs?: number;
  /** Ping an idle connection this often, in ms. Default 25000. */
  pingIntervalMs?: number;
  /** Drop the connection if nothing arrives this long after a ping, in ms. Default 10000. */
  pingTimeoutMs?: number;
  /** Give up on a connection attempt after this many ms. Default 10000. */
  connectTimeoutMs?: number;
}

export interface Status {
  /** Connected and welcomed by the server. */
  readonly online: boolean;
  /** Local writes (per attribute) not yet acknowledged by the server. */
  readonly pending: number;
  /** Per database: the cursor (seq) this client is caught up to, while connected. */
  readonly synced: { readonly [db: string]: number };
}

export interface DocEvent {
  db: string;
  col: string;
  id: string;
  /** The document now (null after doc:destroy). */
  doc: Doc | null;
  /** The document before (null before doc:create). */
  previous: Doc | null;
  /** True when this client's own edit caused it. */
  local: boolean;
}

export interface RecordEvent {
  db: string;
  col: string;
  id: string;
  attr: string;
  /** The timestamp of the recorded write. */
  ts: string;
  result: 'applied' | 'superseded' | 'duplicate';
}

export interface ErrorEvent {
  /** A protocol code (bad_request, forbidden, not_found, too_large, …) or 'storage', 'network', 'protocol'. */
  code: string;
  message: string;
  db?: string;
  col?: string;
  id?: string;
  attr?: string;
}

export interface ConnectEvent {
  serverId: string;
  /** The server's clock at welcome, in epoch ms. */
  time: number;
}

export interface DisconnectEvent {
  /** WebSocket close code (1001: the server is shutting down; 4000: no answer to a ping). */
  code: number;
  reason: string;
}

export interface ClientEvents {
  'doc:create': DocEvent;
  'doc:update': DocEvent;
  'doc:destroy': DocEvent;
  'doc:record': RecordEvent;
  connect: ConnectEvent;
  disconnect: DisconnectEvent;
  error: ErrorEvent;
  status: Status;
}

export interface Client {
  /** Resolves once the store is loaded (replica, pending queue, cursors, clientId, clock). */
  readonly ready: Promise<void>;
  /** This install's ORIGIN (null until ready). */
  readonly clientId: string | null;
  /** The current status; a new frozen object whenever it changes. */
  readonly status: Status;
  /** Subscribes to an event; returns a function that unsubscribes. */
  on<E extends keyof ClientEvents>(event: E, listener: (payload: ClientEvents[E]) => void): () => void;
  /** The database `name` (1 to 64 of [A-Za-z0-9_.-]); the client subscribes to all of it on first use. */
  db(name: string): Database;
  /** offline(true): disconnect and stay so; offline(false): connect again now. */
  offline(flag?: boolean): void;
  /** Stops reconnecting and closes the socket; the store keeps everything. */
  close(): Promise<void>;
}

export interface Database {
  readonly name: string;
  /** The collection `name` (1 to 256 characters, no NUL, not starting with $). */
  col(name: string): Collection;
}

export interface Collection {
  readonly db: string;
  readonly name: string;
  /** A document handle: a new ULID when `id` is omitted, else that id (existing or not). */
  doc(id?: string): Document;
  /** The visible documents, sorted by id. */
  all(): Doc[];
  /** The visible documents matching `filter`, sorted by id. */
  find(filter: Filter): Doc[];
  /** Calls `listener` at once and whenever the result changes; returns a function that stops it. */
  live(filter: Filter, listener: (docs: Doc[]) => void): () => void;
}

export interface Document {
  readonly db: string;
  readonly col: string;
  readonly id: string;
  /** The visible document, or null. Synchronous, from memory. */
  get(): Doc | null;
  /**
   * Sets the given attributes (null removes one; `id` and undefined values are skipped). Applies at
   * once; resolves once stored locally. Rejects with a SynclineError before changing anything if
   * the server would refuse a name or value.
   */
  set(attrs: { [attr: string]: JsonValue | undefined }): Promise<void>;
  /** $deleted = true. */
  destroy(): Promise<void>;
  /** $deleted = false: the document comes back whole. */
  restore(): Promise<void>;
}

export function createClient(options: ClientOptions): Client;

// ---- stores ----

/** A confirmed register or a pending write. */
export interface StoredRegister {
  db: string;
  col: string;
  id: string;
  attr: string;
  value: JsonValue;
  ts: string;
}

export interface Cursor {
  seq: number;
  epoch: string | null;
}

export interface StoredState {
  clientId: string | null;
  /** The clock state 'MS-COUNTER', or null. */
  clock: string | null;
  cursors: { [db: string]: Cursor };
  /** Confirmed registers (the server's state). */
  registers: StoredRegister[];
  /** Local writes not yet acknowledged. */
  pending: StoredRegister[];
}

/**
 * One atomic write. Applied in this order: clock; drop (remove every confirmed register of these
 * databases); registers (each kept only if its ts is greater than the stored one's); cursors;
 * pendingDelete (removes a pending write only if it still has that ts); pendingPut (kept only if
 * newer than the pending write stored for that attribute).
 */
export interface StoreBatch {
  clock?: string;
  drop?: string[];
  registers?: StoredRegister[];
  cursors?: { [db: string]: Cursor };
  pendingDelete?: StoredRegister[];
  pendingPut?: StoredRegister[];
}

/**
 * Where a client keeps its state. Implement this to store it elsewhere. Every method may be
 * called again after close() (a store can be handed to a new client).
 */
export interface Store {
  /** Names the BroadcastChannel `syncline:<name>` that keeps tabs on this store in step; null for none. */
  readonly name: string | null;
  load(): Promise<StoredState>;
  /** Stores `candidate` as the clientId unless one is stored (or `replace`); resolves to the stored one. */
  claimClientId(candidate: string, replace?: boolean): Promise<string>;
  /** Must apply the whole batch or nothing, and reject if it could not. */
  write(batch: StoreBatch): Promise<void>;
  close(): Promise<void>;
}

/** Keeps everything in memory: nothing survives the process; no cross-tab sync. */
export function memoryStore(): Store;

/** Keeps everything in IndexedDB database `syncline:<name>`; tabs on one name stay in step. */
export function indexedDbStore(name: string, options?: { indexedDB?: unknown; IDBKeyRange?: unknown }): Store;

export class SynclineError extends Error {
  readonly code: string;
  readonly db?: string;
  readonly col?: string;
  readonly id?: string;
  readonly attr?: string;
}

// ---- protocol building blocks ----

export class Clock {
  constructor(origin: string, state?: string);
  readonly origin: string;
  /** 'MS-COUNTER'. */
  readonly state: string;
  restore(state: string): void;
  tick(now: number): string;
  receive(ts: string): void;
}

export function isTimestamp(ts: unknown): ts is string;
export function isOrigin(origin: unknown): origin is string;
export function parseTimestamp(ts: string): { ms: number; counter: number; origin: string };
export function formatTimestamp(ms: number, counter: number, origin: string): string;
export function compareTimestamps(a: string, b: string): -1 | 0 | 1;
export function decide(stored: string | null, incoming: string): 'applied' | 'superseded' | 'duplicate';
export function visible(registers: Map<string, { value: JsonValue; ts: string }> | { [attr: string]: { value: JsonValue; ts: string } }): { [attr: string]: JsonValue } | null;

export interface Limits {
  maxMessageBytes: number;
  maxDeltasPerPush: number;
  maxIdLength: number;
  maxColLength: number;
  maxAttrLength: number;
  maxValueBytes: number;
  maxClockSkewMs: number;
  maxSubscriptions: number;
}
export const DEFAULT_LIMITS: Readonly<Limits>;
export function checkDelta(delta: unknown, limits?: Limits): null | { code: 'bad_request' | 'too_large'; message: string };
export function isDatabaseName(name: unknown): boolean;
export function encodeClient(message: { type: string; rid?: string | number | null; [field: string]: unknown }): string;
export function decodeServer(text: string): { type: string; rid?: string | number; [field: string]: unknown } | null;
export function ulidGenerator(now?: () => number): () => string;
