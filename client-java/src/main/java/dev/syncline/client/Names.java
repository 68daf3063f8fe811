package dev.syncline.client;

import dev.syncline.protocol.Delta;
import dev.syncline.protocol.Json;
import dev.syncline.protocol.Limits;
import dev.syncline.protocol.MessageCodec;

/** Names the server accepts (PROTOCOL.md §4, §6), checked before anything is written. Null: fine. */
final class Names {
  private Names() {}

  /** Reserved databases ({@code $system}) are the admin's, through admin ops: refused, as the JS SDK does. */
  static String dbProblem(String db) {
    return db == null || db.startsWith("$") || !MessageCodec.isDatabaseName(db)
        ? "db: " + db + " is not a database name (1 to 64 of [A-Za-z0-9_.-])" : null;
  }

  static String colProblem(String col, Limits limits) {
    String p = nameProblem("col", col, limits.maxColLength());
    return p != null ? p : col.startsWith("$") ? "col: names starting with $ are reserved" : null;
  }

  static String idProblem(String id, Limits limits) {
    return nameProblem("id", id, limits.maxIdLength());
  }

  static String attrProblem(String attr, Limits limits) {
    String p = nameProblem("attr", attr, limits.maxAttrLength());
    if (p != null) return p;
    return attr.startsWith("$") && !attr.equals(Delta.DELETED) ? "attr: " + attr + " is reserved" : null;
  }

  /**
   * Why the server would refuse {@code d} on its own under {@code limits}, which may be narrower
   * than those it was written under ({@code bad_request}, {@code too_large}), or null.
   */
  static SynclineException deltaProblem(Delta d, Limits limits) {
    String p = colProblem(d.col(), limits);
    if (p == null) p = idProblem(d.id(), limits);
    if (p == null) p = attrProblem(d.attr(), limits);
    if (p != null) return new SynclineException("bad_request", p);
    int bytes = Json.valueBytes(d.value()).length;
    if (bytes > limits.maxValueBytes()) return new SynclineException("too_large", "value: " + bytes + " bytes, at most " + limits.maxValueBytes());
    return null;
  }

  private static String nameProblem(String field, String name, int max) {
    if (name == null || name.isEmpty()) return field + ": required, 1 to " + max + " characters";
    if (name.indexOf('\0') >= 0) return field + ": must not contain NUL";
    if (!Values.wellFormed(name)) return field + ": holds an unpaired surrogate";
    if (Values.length(name) > max) return field + ": at most " + max + " characters";
    return null;
  }
}
