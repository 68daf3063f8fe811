// Hybrid logical clock timestamps: MS-COUNTER-ORIGIN (PROTOCOL.md §5).
//
// A timestamp is 13 decimal digits of epoch milliseconds, 4 lowercase hex digits of counter and
// an ORIGIN of 1 to 64 of [A-Za-z0-9_.:-]. Timestamps compare as plain strings, which orders them
// by (MS, COUNTER, ORIGIN), so nothing here ever needs to parse one to compare it.

const TIMESTAMP = /^[0-9]{13}-[0-9a-f]{4}-[A-Za-z0-9_.:-]{1,64}$/;
const ORIGIN = /^[A-Za-z0-9_.:-]{1,64}$/;
const STATE = /^[0-9]{13}-[0-9a-f]{4}$/;
const MAX_MS = 9999999999999;
const MAX_COUNTER = 0xffff;

/** True when `ts` is a well-formed timestamp. */
export function isTimestamp(ts) {
  return typeof ts === 'string' && TIMESTAMP.test(ts);
}

const MS_PART = /^[0-9]{13}(-|$)/;
const COUNTER_PART = /^[0-9]{13}-[0-9a-f]{4}(-|$)/;

/**
 * Why `ts` is not a timestamp, naming the first part that is wrong from the left (as the
 * server's refusal does: 'ts: ms …', 'ts: counter …', 'ts: origin …'), or null when it is one.
 */
export function timestampFault(ts) {
  if (typeof ts !== 'string') return 'ts: required, a string MS-COUNTER-ORIGIN';
  if (!MS_PART.test(ts)) return 'ts: ms must be 13 decimal digits (epoch milliseconds), then -';
  if (!COUNTER_PART.test(ts)) return 'ts: counter must be 4 lowercase hex digits, then -';
  if (!TIMESTAMP.test(ts)) return 'ts: origin must be 1 to 64 of [A-Za-z0-9_.:-]';
  return null;
}

/** True when `origin` may be a clientId / ORIGIN. */
export function isOrigin(origin) {
  return typeof origin === 'string' && ORIGIN.test(origin);
}

/** Splits a timestamp by position (13, 1, 4, 1, rest), never at '-'. Throws on a malformed one. */
export function parseTimestamp(ts) {
  const fault = timestampFault(ts);
  if (fault) throw new TypeError(`${fault}: ${JSON.stringify(ts)}`);
  return { ms: Number(ts.slice(0, 13)), counter: parseInt(ts.slice(14, 18), 16), origin: ts.slice(19) };
}

/** The inverse of parseTimestamp. */
export function formatTimestamp(ms, counter, origin) {
  return `${formatState(ms, counter)}-${origin}`;
}

/** Sign of a compared to b: plain string order, which is (MS, COUNTER, ORIGIN) order. */
export function compareTimestamps(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

function formatState(ms, counter) {
  return String(ms).padStart(13, '0') + '-' + counter.toString(16).padStart(4, '0');
}

/**
 * One writer's clock. State (MS, COUNTER) starts at (0, 0).
 * tick: MS = max(last MS, now); COUNTER = last + 1 if MS did not move, else 0; past ffff the clock
 * borrows MS + 1. receive: moves to at least the seen (MS, COUNTER), never reads the wall clock.
 */
export class Clock {
  #ms = 0;
  #counter = 0;

  /** @param {string} origin this writer's ORIGIN (its clientId) */
  constructor(origin, state) {
    if (!isOrigin(origin)) throw new TypeError(`not a valid origin: ${JSON.stringify(origin)}`);
    this.origin = origin;
    if (state != null) this.restore(state);
  }

  /** The state as 'MS-COUNTER' (the first 18 characters of a timestamp). */
  get state() {
    return formatState(this.#ms, this.#counter);
  }

  /** Sets the state from 'MS-COUNTER' or a full timestamp, even backwards. */
  restore(state) {
    const head = typeof state === 'string' ? state.slice(0, 18) : '';
    if (!STATE.test(head)) throw new TypeError(`not a clock state: ${JSON.stringify(state)}`);
    this.#ms = Number(head.slice(0, 13));
    this.#counter = parseInt(head.slice(14, 18), 16);
  }

  /** A new local write while the wall clock reads `now` ms: returns its timestamp. */
  tick(now) {
    const wall = Math.min(MAX_MS, Math.max(0, Math.floor(now)));
    if (wall > this.#ms) {
      this.#ms = wall;
      this.#counter = 0;
    } else if (this.#counter < MAX_COUNTER) {
      this.#counter += 1;
    } else {
      this.#ms += 1;
      this.#counter = 0;
    }
    return formatTimestamp(this.#ms, this.#counter, this.origin);
  }

  /** Sees a timestamp from elsewhere (or a stored one): the state becomes the greater of the two. */
  receive(ts) {
    const head = ts.slice(0, 18);
    if (head > this.state) this.restore(head);
  }
}
