package dev.syncline.server.hub;

/**
 * Settings of the fan-out.
 *
 * @param subscriberBufferBytes bytes of live changes held for one subscription while its socket is
 *     busy; past this it is marked lagging and later fed from the store instead
 * @param catchUpPageDeltas most deltas in one catch-up page (one {@code changes} frame)
 * @param catchUpPageBytes about the most bytes in one catch-up page
 * @param catchUpThreads threads reading catch-up pages from the store
 * @param loopInboxBytes bytes of commits queued for one event loop that fell behind; past this, its
 *     subscribers read the further commits from the store instead
 */
public record HubOptions(int subscriberBufferBytes, int catchUpPageDeltas, int catchUpPageBytes, int catchUpThreads,
    long loopInboxBytes) {}
