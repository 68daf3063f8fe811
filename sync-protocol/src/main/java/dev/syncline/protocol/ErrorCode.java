package dev.syncline.protocol;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

/** The {@code error.code} values of PROTOCOL.md. */
public enum ErrorCode {
  BAD_REQUEST("bad_request"),
  UNSUPPORTED_PROTOCOL("unsupported_protocol"),
  UNAUTHENTICATED("unauthenticated"),
  FORBIDDEN("forbidden"),
  NOT_FOUND("not_found"),
  TOO_LARGE("too_large"),
  RATE_LIMITED("rate_limited"),
  CLOCK_SKEW("clock_skew"),
  OVERLOADED("overloaded"),
  INTERNAL("internal"),
  /** Per delta: stored here, but fewer servers than the push's {@code w} held it in time (added by Syncline). */
  QUORUM_TIMEOUT("quorum_timeout");

  private final String wire;

  ErrorCode(String wire) {
    this.wire = wire;
  }

  @JsonValue
  public String wire() {
    return wire;
  }

  @JsonCreator
  public static ErrorCode fromWire(String name) {
    for (ErrorCode c : values()) if (c.wire.equals(name)) return c;
    throw new IllegalArgumentException("unknown error code: " + name);
  }
}
