package dev.syncline.server.auth;

import dev.syncline.protocol.ErrorCode;

/** A refused sign-in, token or request, with the error code to answer (and a retry hint for {@code rate_limited} and {@code overloaded}). */
public final class AuthException extends RuntimeException {
  private final ErrorCode code;
  private final Long retryAfterMs;

  public AuthException(ErrorCode code, String message) {
    this(code, message, null);
  }

  public AuthException(ErrorCode code, String message, Long retryAfterMs) {
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
