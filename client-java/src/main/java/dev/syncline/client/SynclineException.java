package dev.syncline.client;

/**
 * A refusal, with the protocol's error code ({@code bad_request}, {@code too_large},
 * {@code unauthenticated}, {@code rate_limited}, {@code forbidden}, …) or one of the client's own:
 * {@code offline} (no connection to answer), {@code storage} (the local store failed).
 */
public final class SynclineException extends RuntimeException {
  private final String code;
  private final Long retryAfterMs;

  public SynclineException(String code, String message) {
    this(code, message, null);
  }

  public SynclineException(String code, String message, Long retryAfterMs) {
    super(message);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  public String code() {
    return code;
  }

  /** For {@code rate_limited}: how long to wait before trying again; else null. */
  public Long retryAfterMs() {
    return retryAfterMs;
  }

  static SynclineException offline(String why) {
    return new SynclineException("offline", why);
  }
}
