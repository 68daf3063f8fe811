package dev.syncline.server.store;

import dev.syncline.protocol.Delta;

/** A delta as committed, with its seq, and its wire encoding (made once, sent to every subscriber). */
public record CommittedDelta(Delta delta, byte[] json) {}
