package dev.syncline.server.store;

import dev.syncline.protocol.Delta;

/**
 * A delta as committed, with its seq, and its wire encoding (made once, sent to every subscriber).
 * {@code owner} is the document's {@code $owner} after this delta (null when it has none), so the
 * hub can filter owner-only readers without a store read. {@code ownerChanged} is true for a
 * {@code $owner} delta that replaced a different owner: a transfer, not a first write.
 */
public record CommittedDelta(Delta delta, byte[] json, String owner, boolean ownerChanged) {

  public CommittedDelta(Delta delta, byte[] json) {
    this(delta, json, null, false);
  }
}
