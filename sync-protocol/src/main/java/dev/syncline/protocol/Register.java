package dev.syncline.protocol;

import com.fasterxml.jackson.databind.JsonNode;

/** The stored state of one attribute: its last-written value (JSON null when removed) and when. */
public record Register(JsonNode value, String ts) {}
