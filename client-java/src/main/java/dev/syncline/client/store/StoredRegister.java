package dev.syncline.client.store;

import com.fasterxml.jackson.databind.JsonNode;

/** One register as the client keeps it: confirmed by the server, or a pending local write. */
public record StoredRegister(String db, String col, String id, String attr, JsonNode value, String ts) {}
