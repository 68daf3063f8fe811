package dev.syncline.server.auth;

import java.util.Set;

/**
 * What one commit to {@code $system} changed: the users whose records changed, and the databases
 * whose policies did. A session re-checks only what this can affect: its own user, and its
 * subscriptions to these databases.
 */
public record AuthChange(Set<String> users, Set<String> databases) {}
