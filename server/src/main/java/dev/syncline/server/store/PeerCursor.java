package dev.syncline.server.store;

/**
 * How far this server has applied a peer's change feed of one database: the peer's epoch of it
 * and the last seq applied. Written in the same transaction as the deltas it covers, so after a
 * crash the feed resumes exactly where the stored data ends.
 */
public record PeerCursor(String peer, String db, String epoch, long seq) {}
