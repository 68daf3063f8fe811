package dev.syncline.server.http;

/** What the HTTP layer needs from the server config. */
public record HttpSettings(
    String host, int port, int maxMessageBytes, boolean compression, int socketWriteQueueBytes, String staticDir) {}
