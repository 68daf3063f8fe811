package dev.syncline.server.store;

import dev.syncline.protocol.Delta;
import dev.syncline.protocol.MessageCodec;

/**
 * What the single writer needs of a delta in bytes, made before it reaches the writer (on the
 * event loop that decoded it): its wire encoding without the seq ({@link
 * MessageCodec#encodeDeltaOpen}), that encoding's entry hash ({@link Digests#entryHash}), and its
 * register key ({@link Layout#registerKey}), whose first {@code documentPrefixLength} bytes are
 * the document's key.
 */
final class EncodedDelta {
  final byte[] open;
  final long hash;
  final byte[] registerKey;
  final int documentPrefixLength;

  private EncodedDelta(byte[] open, byte[] registerKey, int documentPrefixLength) {
    this.open = open;
    this.hash = Digests.entryHash(open);
    this.registerKey = registerKey;
    this.documentPrefixLength = documentPrefixLength;
  }

  static EncodedDelta of(Delta d) {
    byte[] documentPrefix = Layout.documentPrefix(d.col(), d.id());
    return new EncodedDelta(MessageCodec.encodeDeltaOpen(d), Layout.registerKey(documentPrefix, d.attr()), documentPrefix.length);
  }

  byte[] documentPrefix() {
    return java.util.Arrays.copyOf(registerKey, documentPrefixLength);
  }
}
