package dev.syncline.server.store;

import dev.syncline.protocol.Delta;
import java.util.Objects;

/**
 * A delta as committed, with its seq, and its wire encoding (made once, sent to every subscriber).
 * {@code owner} is the document's {@code $owner} after this delta (null when it has none), so the
 * hub can filter owner-only readers without a store read; {@code previousOwner} is the owner
 * before it, which differs only for a {@code $owner} delta that moved the document to someone else.
 * {@code source} is the peer server it was replicated from, null for a local write.
 */
public record CommittedDelta(Delta delta, byte[] json, String owner, String previousOwner, String source) {

  public CommittedDelta(Delta delta, byte[] json) {
    this(delta, json, null, null, null);
  }

  /** True for a transfer: a {@code $owner} delta that replaced a different owner (not a first write). */
  public boolean ownerChanged() {
    return !Objects.equals(owner, previousOwner);
  }
}
