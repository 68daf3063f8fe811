// The last-writer-wins decision for one attribute register (PROTOCOL.md §6).
// Merge is commutative, associative and idempotent: replicas that saw the same deltas in any
// order hold the same registers. The register keeps the greater (timestamp, value): values decide
// only between equal timestamps, which two tabs sharing a clientId can produce. Unlike the Java
// server, this side cannot tell 1 from 1.0 or see key order, so structurally equal values are
// one write here.

/**
 * The outcome of a delta (`incomingTs`, `incomingValue`) against a register (`storedTs`,
 * `storedValue`); `storedTs` null: never written. 'applied' (greater: it replaces the register),
 * 'superseded' (smaller) or 'duplicate' (equal: nothing changes).
 */
export function decide(storedTs, storedValue, incomingTs, incomingValue) {
  if (storedTs == null) return 'applied';
  const c = incomingTs > storedTs ? 1 : incomingTs < storedTs ? -1 : compareValues(incomingValue, storedValue);
  return c > 0 ? 'applied' : c < 0 ? 'superseded' : 'duplicate';
}

/**
 * The structural order of JSON values (-1, 0, 1); undefined counts as null. By type first:
 * null < false < true < number < string < array < object. Numbers by value; strings by UTF-16
 * code units; arrays element by element, a proper prefix first; objects by their (key, value)
 * pairs with keys sorted by code units, a proper prefix first.
 */
export function compareValues(a, b) {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra < rb ? -1 : 1;
  if (ra === NUMBER || ra === STRING) return a < b ? -1 : a > b ? 1 : 0;
  if (ra === ARRAY) return compareLists(a, b, compareValues);
  if (ra === OBJECT) {
    // Object.keys puts integer-like keys first, so sort: plain sort() is code unit order.
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return compareLists(ka, kb, (x, y, i) => (x < y ? -1 : x > y ? 1 : compareValues(a[ka[i]], b[kb[i]])));
  }
  return 0; // null, false, true: the rank is the value
}

const NUMBER = 3, STRING = 4, ARRAY = 5, OBJECT = 6;

function rank(v) {
  if (v === null || v === undefined) return 0;
  if (v === false) return 1;
  if (v === true) return 2;
  if (typeof v === 'number') return NUMBER;
  if (typeof v === 'string') return STRING;
  return Array.isArray(v) ? ARRAY : OBJECT;
}

// Element by element with `cmp`; a proper prefix is smaller.
function compareLists(a, b, cmp) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = cmp(a[i], b[i], i);
    if (c !== 0) return c;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}
