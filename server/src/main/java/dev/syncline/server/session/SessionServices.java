package dev.syncline.server.session;

import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Limits;
import dev.syncline.server.admin.AdminOps;
import dev.syncline.server.auth.Auth;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.metrics.ServerMetrics;
import dev.syncline.server.replication.Replication;
import dev.syncline.server.store.Store;

/**
 * What every session shares: the writer, the hub, read access to database metadata, sign-in and
 * policies, admin ops, replication (quorums, and peers dialing in), metrics, timers, the server's clock and its limits.
 */
public record SessionServices(
    io.vertx.core.Vertx vertx,
    String serverId,
    HlcClock clock,
    Limits limits,
    int maxBadMessagesPerMinute,
    int messagesPerSecond,
    int maxUnansweredDeltas,
    long maxUnansweredBytes,
    Auth auth,
    Store store,
    Committer committer,
    Hub hub,
    AdminOps admin,
    Replication replication,
    ServerMetrics metrics) {}
