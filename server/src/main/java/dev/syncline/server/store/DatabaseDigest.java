package dev.syncline.server.store;

/**
 * A database's state digest as of its last commit: {@code buckets} (see {@link Digests}), a hash
 * over all of them, and the head they were taken at.
 */
public record DatabaseDigest(String db, String digest, long[] buckets, long head) {}
