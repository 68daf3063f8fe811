package dev.syncline.server.store;

import java.util.List;

/**
 * One page of registers read by key ({@link Store#registersInBuckets}): wire-encoded deltas with
 * their seqs, whether more follow, and the register key to continue after.
 */
public record RegisterPage(List<byte[]> deltas, byte[] resumeKey, boolean more) {}
