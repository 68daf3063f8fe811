package dev.syncline.server.http;

/**
 * What the HTTP layer needs from the server config. {@code staticDir} is a folder served at
 * {@code /}; when null, {@code bundledWebRoot} tells whether the app bundled in the jar (classpath
 * {@code webroot/}) is.
 */
public record HttpSettings(
    String host, int port, int maxMessageBytes, boolean compression, int socketWriteQueueBytes, String staticDir,
    boolean bundledWebRoot, int readIdleTimeoutSeconds, boolean trustProxy) {}
