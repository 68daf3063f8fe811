// Attribute values: plain JSON, checked the way the server checks them (PROTOCOL.md §2, §3, §6).

/** Deepest a value may nest: a push message, its deltas array and a delta take 3 of the 64 levels. */
export const MAX_VALUE_DEPTH = 61;

const wellFormed = typeof String.prototype.isWellFormed === 'function'
  ? (s) => s.isWellFormed()
  : (s) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

/** True when `s` holds no unpaired surrogate. */
export function isWellFormed(s) {
  return wellFormed(s);
}

/** Length in Unicode code points (what the protocol calls characters). */
export function codePointLength(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/** Bytes of the UTF-8 encoding of a well-formed string. */
export function utf8Length(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) { n += 4; i++; } else n += 3;
  }
  return n;
}

/** Bytes of a value's compact UTF-8 JSON encoding: what `maxValueBytes` limits. */
export function encodedValueBytes(value) {
  return utf8Length(JSON.stringify(value));
}

function isPlainObject(v) {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Why `value` is not a JSON value the server accepts, as 'value: …', or null when it is fine.
 * Refused: numbers that are not finite, strings or keys with an unpaired surrogate, nesting
 * deeper than MAX_VALUE_DEPTH, and anything JSON cannot hold (undefined in an array, functions,
 * bigints, symbols, Maps, class instances).
 */
export function valueProblem(value, depth = 0) {
  if (value === null || typeof value === 'boolean') return null;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `value: ${value} is not a finite number`;
  if (typeof value === 'string') return wellFormed(value) ? null : 'value: a string holds an unpaired surrogate';
  if (typeof value !== 'object') return `value: a ${typeof value} is not JSON`;
  if (depth + 1 > MAX_VALUE_DEPTH) return `value: nested deeper than ${MAX_VALUE_DEPTH} levels`;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (item === undefined) return 'value: undefined is not JSON';
      const problem = valueProblem(item, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (!isPlainObject(value)) return `value: a ${value.constructor?.name ?? 'object'} is not a plain JSON object`;
  for (const key of Object.keys(value)) {
    if (!wellFormed(key)) return 'value: an object key holds an unpaired surrogate';
    if (value[key] === undefined) continue; // JSON leaves undefined properties out
    const problem = valueProblem(value[key], depth + 1);
    if (problem) return problem;
  }
  return null;
}

/**
 * A deep-frozen copy of an application value in JSON form: `toJSON` is applied (so a Date
 * becomes its ISO string) and undefined object properties are left out, as JSON.stringify does.
 * Returns {value} or {problem: 'value: …'}.
 */
export function toStoredValue(input) {
  let json;
  try {
    json = JSON.stringify(input, (key, v) => (typeof v === 'bigint' ? undefined : v));
  } catch (e) {
    return { problem: `value: ${e.message}` };
  }
  // Check the input itself first, so NaN, Infinity and lone surrogates are refused rather than
  // silently turned into null or escapes by JSON.stringify.
  const problem = valueProblem(prepared(input));
  if (problem) return { problem };
  return { value: freeze(JSON.parse(json)) };
}

// Applies toJSON at every level, the way JSON.stringify would, without encoding.
function prepared(v, depth = 0) {
  if (v !== null && typeof v === 'object' && typeof v.toJSON === 'function') v = v.toJSON();
  if (v === null || typeof v !== 'object' || depth > MAX_VALUE_DEPTH) return v;
  if (Array.isArray(v)) return v.map((item) => prepared(item, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return v;
  const out = {};
  for (const key of Object.keys(v)) putOwn(out, key, prepared(v[key], depth + 1)); // '__proto__' too
  return out;
}

/** Freezes a JSON value in place, all the way down, and returns it. */
export function freeze(v) {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    for (const key of Object.keys(v)) freeze(v[key]);
    Object.freeze(v);
  }
  return v;
}

/** Structural JSON equality (objects regardless of key order, arrays in order). */
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!jsonEqual(a[i], b[i])) return false;
    return true;
  }
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (!Object.hasOwn(b, k) || !jsonEqual(a[k], b[k])) return false;
  return true;
}

/**
 * Sets `key` on `obj` as an own data property, also for an attribute named `__proto__`, which a
 * plain assignment would take as the object's prototype: the attribute would vanish from readers.
 */
export function putOwn(obj, key, value) {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}
