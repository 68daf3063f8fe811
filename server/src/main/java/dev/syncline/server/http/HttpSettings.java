package dev.syncline.server.http;

/**
 * What the HTTP layer needs from the server config. {@code staticDir} is a folder served at
 * {@code /}; when null, {@code bundledWebRoot} tells whether the app bundled in the jar (classpath
 * {@code webroot/}) is. With {@code tlsCertFile} and {@code tlsKeyFile} (PEM) it serves https and
 * wss only. {@code metricsAccess} is who may read {@code /metrics} ({@code local}, {@code admin},
 * {@code open}); null serves no metrics.
 */
public record HttpSettings(
    String host, int port, int maxMessageBytes, boolean compression, int socketWriteQueueBytes, String staticDir,
    boolean bundledWebRoot, int readIdleTimeoutSeconds, boolean trustProxy, String tlsCertFile, String tlsKeyFile,
    String metricsAccess) {

  public boolean tls() {
    return tlsCertFile != null;
  }
}
