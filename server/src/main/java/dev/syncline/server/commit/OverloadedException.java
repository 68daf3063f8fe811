package dev.syncline.server.commit;

/** The writer cannot take more work now; the client should retry later. */
public final class OverloadedException extends RuntimeException {
  public OverloadedException(String message) {
    super(message, null, false, false);
  }
}
