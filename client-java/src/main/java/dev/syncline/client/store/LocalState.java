package dev.syncline.client.store;

import java.util.List;
import java.util.Map;

/**
 * Everything a store holds, as loaded at start: this install's clientId and clock, the confirmed
 * registers, the pending (unacknowledged) writes, the cursors, the sign-in (a JSON text, or null)
 * and whose data it is (a user id, or null when it was made anonymously).
 */
public record LocalState(String clientId, String clock, List<StoredRegister> registers, List<StoredRegister> pending,
    Map<String, Cursor> cursors, String auth, String owner) {}
