package dev.syncline.server.replication;

import java.util.List;

/**
 * Settings of replication between servers (see {@code ServerConfig} for each key's meaning).
 *
 * @param peers WebSocket URLs of the peers this server dials
 * @param clusterSecret the secret every server of the cluster shares; null: no peer may link
 * @param writeQuorum servers that must hold a push durably before its ack, by default
 * @param quorumTimeoutMs how long a push waits for its quorum before it is acked with {@code quorum_timeout}
 * @param digestIntervalMs how often a link compares digests with its peer
 * @param pingIntervalMs how often a link pings; a link that hears nothing for three of these is dropped
 * @param reconnectMaxMs the longest wait between two attempts to dial a peer
 * @param maxClockSkewMs how far ahead of this server's clock a peer's delta may be
 * @param tombstoneRetentionMs how long tombstones are kept (0: forever); a repair leaves out what is older
 * @param trustFile PEM certificates trusted when dialing {@code wss://} peers; null: the JVM's authorities
 */
public record ReplicationOptions(List<String> peers, String clusterSecret, int writeQuorum, long quorumTimeoutMs,
    long digestIntervalMs, long pingIntervalMs, long reconnectMaxMs, long maxClockSkewMs, long tombstoneRetentionMs,
    String trustFile) {}
