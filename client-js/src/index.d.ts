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
  /** WebSocket constructor to use. Default: globalThis.WebSocket, else the `ws` package from beside the SDK, else from process.cwd(). */
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
  /** Give up on a connection attempt after this many ms (login() waits as long for one). Default 10000. */
  connectTimeoutMs?: number;
  /**
   * Servers that must hold each push durably before its ack, 1 to 64, sent as push.w. Default:
   * left out, so the server's writeQuorum applies. See 'quorum_timeout' in ErrorEvent.
   */
  w?: number;
}

/** A signed-in user, as the server names it. Frozen. */
export interface User {
  readonly id: string;
  readonly roles: readonly string[];
}

export interface Status {
  /** Connected and welcomed by the server. */
  readonly online: boolean;
  /** Local writes (per attribute) not yet acknowledged by the server. */
  readonly pending: number;
  /** Per database: the cursor (seq) this client is caught up to, while connected; absent while a reset is caught up. */
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
  /**
   * A protocol code (bad_request, forbidden, not_found, too_large, unauthenticated, …) or
   * 'storage', 'network', 'protocol'. 'forbidden' with db, col, id, attr: a write the user may not
   * make was dropped and reverted; with db only: the user may read nothing in that database.
   * 'unauthenticated': the server refused the stored token; the client signed out (see 'auth').
   * 'quorum_timeout' with db, col, id, attr and servers: the server stored the write but fewer
   * than w servers held it in time; it stays pending (no doc:record yet) and is pushed again.
   */
  code: string;
  message: string;
  db?: string;
  col?: string;
  id?: string;
  attr?: string;
  /** With 'quorum_timeout': how many servers held the write when the server stopped waiting. */
  servers?: number;
}

export interface ConnectEvent {
  serverId: string;
  /** The server's clock at welcome, in epoch ms. */
  time: number;
  /** Who this connection is signed in as (welcome.user), or null. */
  user: User | null;
}

export interface AuthEvent {
  /** The signed-in user now, or null. */
  user: User | null;
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
  /** The user changed: login, signup, logout, a refused token, new roles; also once at load if the store holds a user. */
  auth: AuthEvent;
}

export interface Client {
  /** Resolves once the store is loaded (replica, pending queue, cursors, clientId, clock). */
  readonly ready: Promise<void>;
  /** This install's ORIGIN (null until ready). */
  readonly clientId: string | null;
  /** The current status; a new frozen object whenever it changes. */
  readonly status: Status;
  /** The signed-in user, or null (from the store once ready; updated by every welcome). */
  readonly user: User | null;
  /**
   * Whose data the local copy holds, its pending edits included: the user last signed in here
   * (also after that sign-in ended, say its token expired), or null for anonymous data. Signing
   * in as anyone else drops it all.
   */
  readonly owner: string | null;
  /**
   * Signs in on the live connection (waiting up to connectTimeoutMs for one) and keeps the token
   * in the store, to be sent on every reconnect and renewed in time. Resolves to the user.
   * Rejects with a SynclineError: 'unauthenticated' (wrong username or password), 'rate_limited'
   * (with retryAfterMs), 'bad_request', 'offline'. Data and pending edits of another user are
   * dropped first, as by logout().
   */
  login(username: string, password: string): Promise<User>;
  /** Creates the user and signs in, like login(). 'forbidden' when the server allows no sign-up. */
  signup(username: string, password: string): Promise<User>;
  /**
   * Forgets the token, drops the local copy of every database AND the pending (unsent) edits,
   * and reconnects anonymously. Resolves once the store has forgotten.
   */
  logout(): Promise<void>;
  /**
   * The documents with local writes the server has not recorded yet, one each (status.pending
   * counts their attributes). It changes when status.pending does: read it again on 'status'.
   */
  unsaved(): ReadonlyArray<Readonly<{ db: string; col: string; id: string }>>;
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
  find(filter?: Filter): Doc[];
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

/** The sign-in a store keeps: the JWT, its expiry and when this client got it (server clock, ms), and its user. */
export interface StoredAuth {
  token: string;
  expiresAt: number;
  /** null or absent: taken as issued 7 days before expiresAt. */
  issuedAt?: number | null;
  user: { id: string; roles: string[] };
}

export interface StoredState {
  clientId: string | null;
  /** The clock state 'MS-COUNTER', or null. */
  clock: string | null;
  /** The signed-in user's token, or null (a store from before sign-in may leave it out). */
  auth?: StoredAuth | null;
  /** Whose data the registers and the pending queue are: a user id, or null when anonymous. */
  owner?: string | null;
  /**
   * How many times `auth` was written (0: never). A store that leaves it out does not order
   * sign-ins: its tabs follow each other's in the order they hear of them.
   */
  authGen?: number;
  cursors: { [db: string]: Cursor };
  /** Confirmed registers (the server's state). */
  registers: StoredRegister[];
  /** Local writes not yet acknowledged. */
  pending: StoredRegister[];
}

/**
 * One atomic write. Applied in this order: clock; authGen (when auth is present: the stored one
 * plus one, or Date.now() if greater, see StoreWritten); auth and owner (replace when present; null removes); wipe (remove
 * every confirmed register, cursor and pending write: sign-out; also when auth is present and the
 * stored owner is a user other than `owner`: another tab's sign-in landed first); drop
 * (remove every confirmed register of these databases); forget (removes a confirmed register only
 * if it still has that ts: values of a destroyed document the server purged); registers (each kept
 * only if it wins the merge against the stored one, see decide; one that forget names, with its
 * ts, is not written); cursors (see below); pendingDelete (removes a pending write only if it still has that
 * ts); pendingPut (kept only if newer than the pending write stored for that attribute).
 */
export interface StoreBatch {
  clock?: string;
  auth?: StoredAuth | null;
  owner?: string | null;
  wipe?: boolean;
  drop?: string[];
  registers?: StoredRegister[];
  /**
   * Values of destroyed documents the server purged. A store that keeps them gives them back at
   * the next load: hidden, but a later `$deleted = false` would show them in this client only.
   */
  forget?: StoredRegister[];
  /**
   * A cursor with `after` (the cursor its frame follows) is written only where the stored cursor of
   * `after.epoch` has reached `after.seq` (none stored: only when `after.seq` is 0), and never back
   * within its epoch, so a stored cursor never passes registers the store lacks (another tab
   * swapped an older copy in, or a write failed). One without `after` (a whole copy) is written.
   * Where such a cursor's epoch differs from the stored cursor's, that database's `registers` and
   * `forget` in the batch are not written either (an old life's frame after the new life's copy).
   */
  cursors?: { [db: string]: Cursor & { after?: Cursor } };
  pendingDelete?: StoredRegister[];
  pendingPut?: StoredRegister[];
  /** Apply the batch only if the stored owner is this user (the data is theirs); absent or null: always. */
  ifOwner?: string | null;
}

/**
 * What a write of `auth` did, read and written inside its transaction: tabs on one store follow
 * only a sign-in stamped later than theirs, so all end as the one the store wrote last.
 */
export interface StoreWritten {
  /**
   * The stored authGen plus one, or Date.now() if greater (a store deleted under open tabs and made
   * again stamps above what they hold), now stored.
   */
  authGen: number;
  /** Whether it wiped: the batch said so, or the data stored was another user's. */
  wiped: boolean;
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
  /**
   * Must apply the whole batch or nothing, and reject if it could not. A batch with `auth` that it
   * applied resolves to what it did to the sign-in (see StoreWritten); any other, to nothing.
   */
  write(batch: StoreBatch): Promise<StoreWritten | void>;
  close(): Promise<void>;
}

/** Keeps everything in memory: nothing survives the process; no cross-tab sync. */
export function memoryStore(): Store;

/** Keeps everything in IndexedDB database `syncline:<name>`; tabs on one name stay in step. */
export function indexedDbStore(name: string, options?: { indexedDB?: unknown; IDBKeyRange?: unknown }): Store;

export class SynclineError extends Error {
  constructor(code: string, message: string,
    details?: { db?: string; col?: string; id?: string; attr?: string; retryAfterMs?: number; serverTime?: number });
  /** A protocol code, or the SDK's own: 'storage', 'protocol', 'offline' (login without a connection). */
  readonly code: string;
  /** With 'rate_limited' and 'overloaded': when to try again, in ms. */
  readonly retryAfterMs?: number;
  /** With 'clock_skew': the server's clock, in epoch ms. */
  readonly serverTime?: number;
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
/** Why ts is not a timestamp, naming the part that is wrong ('ts: ms …', 'ts: counter …', 'ts: origin …'), or null. */
export function timestampFault(ts: unknown): string | null;
export function isOrigin(origin: unknown): origin is string;
export function parseTimestamp(ts: string): { ms: number; counter: number; origin: string };
export function formatTimestamp(ms: number, counter: number, origin: string): string;
export function compareTimestamps(a: string, b: string): -1 | 0 | 1;
/**
 * The merge decision for a delta against a register (storedTs null: never written): the greater
 * timestamp wins, and between equal timestamps the greater value by compareValues.
 */
export function decide(
  storedTs: string | null,
  storedValue: JsonValue,
  incomingTs: string,
  incomingValue: JsonValue,
): 'applied' | 'superseded' | 'duplicate';
/**
 * The structural order of JSON values (-1, 0, 1): null < false < true < number < string < array
 * < object; numbers by value, strings by UTF-16 code units, arrays element by element, objects by
 * their pairs with keys sorted; a proper prefix is smaller.
 */
export function compareValues(a: JsonValue, b: JsonValue): -1 | 0 | 1;
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
/** Null for a message type this SDK does not know; throws (an Error) for a frame that is not a readable server message. */
export function decodeServer(text: string): { type: string; rid?: string | number; [field: string]: unknown } | null;
export function ulidGenerator(now?: () => number): () => string;
