package dev.syncline.server.session;

import dev.syncline.protocol.HlcClock;
import dev.syncline.protocol.Limits;
import dev.syncline.server.admin.AdminOps;
import dev.syncline.server.commit.Committer;
import dev.syncline.server.hub.Hub;
import dev.syncline.server.store.Store;

/**
 * What every session shares: the writer, the hub, read access to database metadata, admin ops,
 * the server's clock and its limits.
 */
public record SessionServices(
    String serverId,
    HlcClock clock,
    Limits limits,
    int maxBadMessagesPerMinute,
    Store store,
    Committer committer,
    Hub hub,
    AdminOps admin) {}
