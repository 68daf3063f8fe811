package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Json;
import io.vertx.core.Future;
import java.util.LinkedHashMap;
import java.util.Map;

/** One document. A cheap handle: {@link #get()} answers from memory, writes go through the client. */
public final class Document {
  private final SynclineClient client;
  private final String db;
  private final String col;
  private final String id;

  Document(SynclineClient client, String db, String col, String id) {
    this.client = client;
    this.db = db;
    this.col = col;
    this.id = id;
  }

  public String id() {
    return id;
  }

  /** The document as a reader sees it, or null when it is not visible. Any thread. */
  public Doc get() {
    return client.core().replica.doc(db, col, id);
  }

  /**
   * Sets the given attributes and leaves the others as they are; a null value removes one (put it
   * in a {@code HashMap}: {@code Map.of} refuses null; an attribute named {@code id} is skipped:
   * the id is not an attribute). Applied to the local replica (events and live queries fire),
   * then stored; the future completes once the store has it — not once the server has it, which
   * {@link ClientEvent#DOC_RECORD} tells. Called on the client's event loop (in a listener), it is
   * applied before this returns; called from another thread, it is handed to that loop, so a
   * {@link #get()} sees it once the future has completed, not necessarily at once.
   * Throws {@link SynclineException} ({@code bad_request}, {@code too_large}) before anything
   * changes, for what the server would refuse.
   */
  public Future<Void> set(Map<String, ?> attrs) {
    Map<String, JsonNode> checked = new LinkedHashMap<>();
    Doc shown = get();
    attrs.forEach((attr, value) -> {
      if (attr.equals("id")) return;
      // a reserved attribute the server wrote ($owner), passed back as read: set(doc.get().attributes() plus a change)
      if (attr.startsWith("$") && !attr.equals(Delta.DELETED) && shown != null && shown.has(attr)
          && dev.syncline.protocol.Merge.compareValues(shown.json(attr), Values.toJson(value, attr)) == 0) {
        return;
      }
      String problem = Names.attrProblem(attr, client.core().limits);
      if (problem != null) throw new SynclineException("bad_request", problem);
      JsonNode json = Values.toJson(value, attr);
      if (attr.equals(Delta.DELETED) && !json.isBoolean()) throw new SynclineException("bad_request", "value: $deleted must be true or false");
      int bytes = Json.valueBytes(json).length;
      if (bytes > client.core().limits.maxValueBytes()) {
        throw new SynclineException("too_large", "value of " + attr + ": " + bytes + " bytes, at most " + client.core().limits.maxValueBytes());
      }
      checked.put(attr, json);
    });
    return client.write(db, col, id, checked);
  }

  /** Destroys the document ({@code $deleted = true}): it disappears, with everything written before. */
  public Future<Void> destroy() {
    return client.write(db, col, id, Map.of(Delta.DELETED, BooleanNode.TRUE));
  }

  /** Restores a destroyed document whole ({@code $deleted = false}). */
  public Future<Void> restore() {
    return client.write(db, col, id, Map.of(Delta.DELETED, BooleanNode.FALSE));
  }
}
