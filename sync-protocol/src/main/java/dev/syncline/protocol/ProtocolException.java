package dev.syncline.protocol;

/** A message or delta that breaks the contract, with the typed error the peer gets for it. */
public final class ProtocolException extends Exception {
  private final ErrorCode code;

  public ProtocolException(ErrorCode code, String message) {
    super(message, null, false, false); // thrown per bad input: no stack trace to fill
    this.code = code;
  }

  public static ProtocolException badRequest(String message) {
    return new ProtocolException(ErrorCode.BAD_REQUEST, message);
  }

  public ErrorCode code() {
    return code;
  }
}
