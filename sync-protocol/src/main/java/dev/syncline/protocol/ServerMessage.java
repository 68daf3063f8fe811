package dev.syncline.protocol;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import com.fasterxml.jackson.annotation.JsonTypeName;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** Messages a server sends. Unsolicited ones ({@code changes}, {@code synced}, …) carry no rid. */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, include = JsonTypeInfo.As.PROPERTY, property = "type")
@JsonSubTypes({
  @JsonSubTypes.Type(ServerMessage.Welcome.class),
  @JsonSubTypes.Type(ServerMessage.Token.class),
  @JsonSubTypes.Type(ServerMessage.Subscribed.class),
  @JsonSubTypes.Type(ServerMessage.Changes.class),
  @JsonSubTypes.Type(ServerMessage.Synced.class),
  @JsonSubTypes.Type(ServerMessage.Reset.class),
  @JsonSubTypes.Type(ServerMessage.Ack.class),
  @JsonSubTypes.Type(ServerMessage.Result.class),
  @JsonSubTypes.Type(ServerMessage.Ok.class),
  @JsonSubTypes.Type(ServerMessage.Pong.class),
  @JsonSubTypes.Type(ServerMessage.Error.class)
})
@JsonInclude(JsonInclude.Include.NON_NULL)
public sealed interface ServerMessage {

  /** {@code user} is written as JSON null, not left out, for a connection that is not signed in. */
  @JsonTypeName("welcome")
  record Welcome(
      JsonNode rid,
      int protocol,
      String serverId,
      long time,
      @JsonInclude(JsonInclude.Include.ALWAYS) UserInfo user,
      Limits limits)
      implements ServerMessage {}

  @JsonTypeName("token")
  record Token(JsonNode rid, String token, long expiresAt, UserInfo user) implements ServerMessage {}

  @JsonTypeName("subscribed")
  /** {@code epoch} names this life of the database: it changes when the database is destroyed and created again. */
  record Subscribed(JsonNode rid, String sid, String db, long head, String epoch) implements ServerMessage {}

  /**
   * {@code seq} is the cursor the client stores: it holds every change it may read up to
   * {@code seq}. That is at least the highest seq in {@code deltas}, and above it when changes
   * the subscription does not see (other collections) were committed in between.
   * {@code valuesPurged} holds the {@code $deleted = true} deltas of {@code deltas} marked
   * {@code "valuesPurged": true}: the server keeps none of the values they hide.
   */
  @JsonTypeName("changes")
  record Changes(String sid, String db, long seq, List<Delta> deltas, @JsonIgnore List<Delta> valuesPurged)
      implements ServerMessage {
    public Changes {
      if (valuesPurged == null) valuesPurged = List.of(); // decoded by Jackson, which does not read it
    }

    public Changes(String sid, String db, long seq, List<Delta> deltas) {
      this(sid, db, seq, deltas, List.of());
    }
  }

  @JsonTypeName("synced")
  record Synced(String sid, long seq) implements ServerMessage {}

  /**
   * Drop the local copy of the database and take the full state that follows. {@code epoch} (added
   * by Syncline) is the epoch to store from now on: it changes when what the subscriber may read
   * changes, not only when the database is re-created.
   */
  @JsonTypeName("reset")
  record Reset(String sid, String epoch) implements ServerMessage {}

  @JsonTypeName("ack")
  record Ack(JsonNode rid, String db, long seq, List<PushResult> results) implements ServerMessage {}

  @JsonTypeName("result")
  record Result(JsonNode rid, JsonNode data) implements ServerMessage {}

  @JsonTypeName("ok")
  record Ok(JsonNode rid) implements ServerMessage {}

  @JsonTypeName("pong")
  record Pong(JsonNode rid) implements ServerMessage {}

  /**
   * {@code sid} names the subscription an unsolicited error is about (e.g. its database was
   * destroyed); {@code index} the offending delta of a push.
   */
  @JsonTypeName("error")
  record Error(
      JsonNode rid,
      ErrorCode code,
      String message,
      Long retryAfterMs,
      Long serverTime,
      Integer index,
      String sid)
      implements ServerMessage {
    public static Error of(JsonNode rid, ErrorCode code, String message) {
      return new Error(rid, code, message, null, null, null, null);
    }
  }
}
