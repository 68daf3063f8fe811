package dev.syncline.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;

/**
 * A write of one attribute of one document. {@code value} is any JSON value; JSON null
 * removes the attribute. {@code seq} is the database sequence at which the server committed
 * it, or 0 for a delta that has not been committed (as sent by a client).
 */
public record Delta(String col, String id, String attr, JsonNode value, String ts, long seq) {

  /** The reserved attribute that destroys ({@code true}) or restores ({@code false}) a document. */
  public static final String DELETED = "$deleted";
  /** The reserved attribute holding the creating user, written by the server. */
  public static final String OWNER = "$owner";

  /**
   * Whether a destroyed document's register {@code attr} stays when the server purges the values
   * its {@code $deleted} hides ({@code valuesPurged}, PROTOCOL.md §6): the {@code $deleted} itself,
   * and the {@code $owner}, which every replica keeps so that all of them know whose it is.
   */
  public static boolean keptWithPurgedValues(String attr) {
    return attr.equals(DELETED) || attr.equals(OWNER);
  }

  public Delta {
    if (value == null) value = NullNode.getInstance();
  }

  public Delta(String col, String id, String attr, JsonNode value, String ts) {
    this(col, id, attr, value, ts, 0);
  }

  public Delta withSeq(long newSeq) {
    return new Delta(col, id, attr, value, ts, newSeq);
  }

  /** True when this write removes the attribute. */
  public boolean isRemoval() {
    return value.isNull();
  }
}
