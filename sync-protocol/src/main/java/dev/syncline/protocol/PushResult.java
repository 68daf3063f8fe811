package dev.syncline.protocol;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The outcome of one pushed delta: a merge outcome, or an error for a delta refused on its
 * own. On the wire an outcome is a bare string and an error is {@code {"error","message"}}, plus
 * {@code serverTime} (ms) for {@code clock_skew} so the client can correct its clock, and
 * {@code servers} for {@code quorum_timeout}: how many servers held the delta when the wait ended.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PushResult(Merge.Outcome outcome, ErrorCode error, String message, Long serverTime, Integer servers) {
  public static PushResult of(Merge.Outcome outcome) {
    switch (outcome) {
      case APPLIED: return APPLIED;
      case SUPERSEDED: return SUPERSEDED;
      default: return DUPLICATE;
    }
  }

  public static PushResult refused(ErrorCode error, String message) {
    return new PushResult(null, error, message, null, null);
  }

  public static PushResult clockSkew(String message, long serverTime) {
    return new PushResult(null, ErrorCode.CLOCK_SKEW, message, serverTime, null);
  }

  /**
   * The delta is stored here and still replicates, but only {@code servers} servers (this one
   * included) held it when the quorum wait ended; resending it is safe.
   */
  public static PushResult quorumTimeout(int servers, String message) {
    return new PushResult(null, ErrorCode.QUORUM_TIMEOUT, message, null, servers);
  }

  public boolean isError() {
    return error != null;
  }

  private static final PushResult APPLIED = new PushResult(Merge.Outcome.APPLIED, null, null, null, null);
  private static final PushResult SUPERSEDED = new PushResult(Merge.Outcome.SUPERSEDED, null, null, null, null);
  private static final PushResult DUPLICATE = new PushResult(Merge.Outcome.DUPLICATE, null, null, null, null);
}
