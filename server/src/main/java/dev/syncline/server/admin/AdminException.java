package dev.syncline.server.admin;

import dev.syncline.protocol.ErrorCode;

/** An admin op refused with a protocol error code. */
public final class AdminException extends RuntimeException {
  private final ErrorCode code;

  public AdminException(ErrorCode code, String message) {
    super(message, null, false, false);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }
}
