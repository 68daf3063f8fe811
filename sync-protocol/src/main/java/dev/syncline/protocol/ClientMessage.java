package dev.syncline.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * Messages a client sends. {@code rid} is the client's request id (a JSON string or number,
 * or null), echoed on the answer.
 */
public sealed interface ClientMessage {
  JsonNode rid();

  /**
   * First message on every connection. {@code peer} (added by Syncline) is present when another
   * server dials in to replicate: its id, a nonce, the time and its proof of the cluster secret.
   */
  record Hello(JsonNode rid, int protocol, String clientId, String token, ObjectNode peer) implements ClientMessage {
    public Hello(JsonNode rid, int protocol, String clientId, String token) {
      this(rid, protocol, clientId, token, null);
    }
  }

  record Login(JsonNode rid, String username, String password) implements ClientMessage {}

  /** Self sign-up (added by Syncline); refused with {@code forbidden} unless the server allows it. */
  record Signup(JsonNode rid, String username, String password) implements ClientMessage {}

  /** Asks for a fresh token for the connection's signed-in user (added by Syncline). */
  record Renew(JsonNode rid) implements ClientMessage {}

  /**
   * {@code cols} is null for every collection; {@code since} 0 means from the beginning;
   * {@code epoch} (optional) is the database epoch the client's copy came from, as announced in
   * {@code subscribed} — when it differs, the database was re-created and the client gets {@code reset}.
   */
  record Sub(JsonNode rid, String db, List<String> cols, long since, String epoch) implements ClientMessage {}

  record Unsub(JsonNode rid, String sid) implements ClientMessage {}

  /**
   * A batch of writes. A delta that is malformed on its own is null in {@code deltas} and its
   * error sits at the same index of {@code rejects}; the rest of the batch still applies.
   * {@code w} (added by Syncline) is how many servers must hold the deltas durably before the
   * ack, 1 to {@link MessageCodec#MAX_WRITE_QUORUM}, or 0 when not given: the server's own
   * {@code writeQuorum} then.
   */
  record Push(JsonNode rid, String db, List<Delta> deltas, List<ProtocolException> rejects, int w)
      implements ClientMessage {
    public static Push of(JsonNode rid, String db, List<Delta> deltas) {
      return new Push(rid, db, deltas, java.util.Collections.nCopies(deltas.size(), null), 0);
    }
  }

  record Admin(JsonNode rid, String op, ObjectNode args) implements ClientMessage {}

  record Ping(JsonNode rid) implements ClientMessage {}
}
