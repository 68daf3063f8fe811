// The last-writer-wins decision for one attribute register (PROTOCOL.md §6).
// Merge is commutative, associative and idempotent: replicas that saw the same deltas in any
// order hold the same registers.

/**
 * The outcome of a delta stamped `incoming` against a register stamped `stored` (null: never
 * written): 'applied' (greater: it replaces the register), 'superseded' (smaller) or
 * 'duplicate' (equal: the same write, nothing changes even if the value differs).
 */
export function decide(stored, incoming) {
  if (stored == null || incoming > stored) return 'applied';
  return incoming === stored ? 'duplicate' : 'superseded';
}
