// Which attributes of one document a reader sees (PROTOCOL.md §6).

import { putOwn } from './values.js';

/**
 * Whether a destroyed document's register `attr` stays when the server purges the values its
 * `$deleted` hides (`valuesPurged`, PROTOCOL.md §6): the `$deleted` itself, and the `$owner`, which
 * every replica keeps so that all of them know whose the document is.
 */
export function keptWithPurgedValues(attr) {
  return attr === '$deleted' || attr === '$owner';
}

/**
 * The visible attributes of a document whose registers are `registers` (a Map or an object from
 * attribute name to {value, ts}), or null when it is not visible.
 * - No registers at all: the document does not exist (null).
 * - With `$deleted = true` at D, only non-null attributes with ts > D (strictly) are visible, and
 *   the document is visible only if at least one is.
 * - Otherwise every non-null attribute is visible, and a document whose attributes were all
 *   removed is visible and empty.
 * - `$deleted` itself never appears; other reserved attributes such as `$owner` do.
 */
export function visible(registers) {
  const entries = registers instanceof Map ? [...registers] : Object.entries(registers);
  if (entries.length === 0) return null;
  let deletedAt = null;
  for (const [attr, register] of entries) {
    if (attr === '$deleted' && register.value === true) deletedAt = register.ts;
  }
  const doc = {};
  let shown = 0;
  for (const [attr, { value, ts }] of entries) {
    if (attr === '$deleted' || value === null) continue;
    if (deletedAt !== null && !(ts > deletedAt)) continue;
    putOwn(doc, attr, value);
    shown += 1;
  }
  return deletedAt !== null && shown === 0 ? null : doc;
}

