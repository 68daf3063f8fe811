// Names and deltas, checked the way the server checks them (PROTOCOL.md §3, §4, §9), so that
// nothing this SDK sends can be refused.

import { timestampFault } from './hlc.js';
import { codePointLength, encodedValueBytes, isWellFormed, valueProblem } from './values.js';

/** The defaults of PROTOCOL.md §3; a server announces its own in welcome.limits. */
export const DEFAULT_LIMITS = Object.freeze({
  maxMessageBytes: 1048576,
  maxDeltasPerPush: 1000,
  maxIdLength: 256,
  maxColLength: 256,
  maxAttrLength: 256,
  maxValueBytes: 65536,
  maxClockSkewMs: 60000,
  maxSubscriptions: 100,
});

const DATABASE = /^[A-Za-z0-9_.-]{1,64}$/;

/** True for a database name a client may use: 1 to 64 of [A-Za-z0-9_.-] (`$…` is the server's). */
export function isDatabaseName(name) {
  return typeof name === 'string' && DATABASE.test(name);
}

/** Why `name` can't be a col, id or attr of at most `max` characters, or null. */
export function nameProblem(field, name, max) {
  if (typeof name !== 'string') return `${field}: required string`;
  if (name.length === 0) return `${field}: must not be empty`;
  if (name.includes('\u0000')) return `${field}: must not contain NUL`;
  if (!isWellFormed(name)) return `${field}: holds an unpaired surrogate`;
  if (codePointLength(name) > max) return `${field}: at most ${max} characters`;
  return null;
}

export function colProblem(col, limits = DEFAULT_LIMITS) {
  return nameProblem('col', col, limits.maxColLength)
    ?? (col.startsWith('$') ? 'col: names starting with $ are reserved' : null);
}

export function idProblem(id, limits = DEFAULT_LIMITS) {
  return nameProblem('id', id, limits.maxIdLength);
}

/** Attributes starting with `$` are reserved; a client may write only `$deleted`. */
export function attrProblem(attr, limits = DEFAULT_LIMITS) {
  return nameProblem('attr', attr, limits.maxAttrLength)
    ?? (attr.startsWith('$') && attr !== '$deleted' ? `attr: ${attr} is reserved` : null);
}

/**
 * Checks one delta {col, id, attr, value, ts} against `limits`: null when the server would take
 * it on to merge, else {code: 'bad_request' | 'too_large', message} as the server would refuse it.
 */
export function checkDelta(delta, limits = DEFAULT_LIMITS) {
  const bad = (message) => ({ code: 'bad_request', message });
  if (delta === null || typeof delta !== 'object' || Array.isArray(delta)) return bad('delta: must be an object');
  const problem = colProblem(delta.col, limits) ?? idProblem(delta.id, limits) ?? attrProblem(delta.attr, limits);
  if (problem) return bad(problem);
  if (!('value' in delta) || delta.value === undefined) return bad('value: required (null removes the attribute)');
  if (delta.attr === '$deleted' && typeof delta.value !== 'boolean') return bad('value: $deleted must be true or false');
  const valueIssue = valueProblem(delta.value);
  if (valueIssue) return bad(valueIssue);
  const tsFault = timestampFault(delta.ts);
  if (tsFault) return bad(tsFault);
  const bytes = encodedValueBytes(delta.value);
  if (bytes > limits.maxValueBytes) {
    return { code: 'too_large', message: `value: ${bytes} bytes, at most ${limits.maxValueBytes}` };
  }
  return null;
}
