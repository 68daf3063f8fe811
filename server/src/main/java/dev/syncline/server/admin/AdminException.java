package dev.syncline.server.admin;

import dev.syncline.protocol.ErrorCode;

/** An admin op refused with a protocol error code. */
public final class AdminException extends RuntimeException {
  private final ErrorCode code;
  private final Long retryAfterMs;

  public AdminException(ErrorCode code, String message) {
    this(code, message, null);
  }

  /** {@code retryAfterMs}: when to try again, for {@code overloaded} and {@code rate_limited}; else null. */
  public AdminException(ErrorCode code, String message, Long retryAfterMs) {
    super(message, null, false, false);
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  public ErrorCode code() {
    return code;
  }

  public Long retryAfterMs() {
    return retryAfterMs;
  }
}
