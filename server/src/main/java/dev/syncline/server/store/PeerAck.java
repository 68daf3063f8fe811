package dev.syncline.server.store;

/**
 * What a peer confirmed it holds of this server's database {@code db} (of epoch {@code epoch}):
 * every change up to {@code seq}. {@code peerHead} is the peer's own head of that database when
 * it confirmed (of the peer's epoch {@code peerEpoch}), so this server knows when it has received
 * everything the peer had by then.
 */
public record PeerAck(String peer, String db, String epoch, long seq, long peerHead, String peerEpoch) {}
