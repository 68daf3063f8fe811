package dev.syncline.protocol;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.List;

/** Typed reads of a message's fields; each fault becomes a {@code bad_request} naming the field. */
final class Fields {
  final ObjectNode obj;

  Fields(ObjectNode obj) {
    this.obj = obj;
  }

  String requireString(String name, int maxLength) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || !n.isTextual()) throw ProtocolException.badRequest(name + ": required string");
    return checkString(name, n.textValue(), maxLength);
  }

  String optString(String name, int maxLength) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || n.isNull()) return null;
    if (!n.isTextual()) throw ProtocolException.badRequest(name + ": must be a string");
    return checkString(name, n.textValue(), maxLength);
  }

  int requireInt(String name) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
      throw ProtocolException.badRequest(name + ": required integer");
    }
    return n.intValue();
  }

  /** An optional integer from {@code min} to {@code max}; 0 when absent or null. */
  int optIntIn(String name, int min, int max) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || n.isNull()) return 0;
    if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < min || n.intValue() > max) {
      throw ProtocolException.badRequest(name + ": must be an integer from " + min + " to " + max);
    }
    return n.intValue();
  }

  long optSeq(String name) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || n.isNull()) return 0;
    if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
      throw ProtocolException.badRequest(name + ": must be a non-negative integer");
    }
    return n.longValue();
  }

  ObjectNode optObject(String name) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || n.isNull()) return Json.MAPPER.createObjectNode();
    if (!(n instanceof ObjectNode o)) throw ProtocolException.badRequest(name + ": must be an object");
    String fault = MessageCodec.valueFault(o);
    if (fault != null) throw ProtocolException.badRequest(name + ": " + fault);
    return o;
  }

  /** A database name: 1 to 64 of {@code [A-Za-z0-9_.-]}, or a reserved {@code $name}. */
  String requireDb(String name) throws ProtocolException {
    String db = requireString(name, MessageCodec.MAX_DB_LENGTH);
    if (!MessageCodec.isDatabaseName(db)) {
      throw ProtocolException.badRequest(name + ": database names are 1 to 64 of [A-Za-z0-9_.-]");
    }
    return db;
  }

  String requireOrigin(String name) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || !n.isTextual() || !Hlc.isValidOrigin(n.textValue())) {
      throw ProtocolException.badRequest(name + ": required, 1 to 64 characters of [A-Za-z0-9_.:-]");
    }
    return n.textValue();
  }

  /** A collection, document id or attribute name: 1 to max characters, no NUL. */
  String requireName(String name, int maxLength) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || !n.isTextual()) throw ProtocolException.badRequest(name + ": required string");
    return checkName(name, n.textValue(), maxLength);
  }

  /** {@link #requireName}'s checks of a string already read as field {@code name}. */
  static String checkName(String name, String s, int maxLength) throws ProtocolException {
    checkString(name, s, maxLength);
    if (s.indexOf('\0') >= 0) throw ProtocolException.badRequest(name + ": must not contain NUL");
    return s;
  }

  List<String> optCollections(String name, Limits limits) throws ProtocolException {
    JsonNode n = obj.get(name);
    if (n == null || n.isNull()) return null;
    if (!n.isArray() || n.isEmpty() || n.size() > 64) {
      throw ProtocolException.badRequest(name + ": must be a list of 1 to 64 collection names");
    }
    List<String> cols = new ArrayList<>(n.size());
    for (JsonNode c : n) {
      if (!c.isTextual()) throw ProtocolException.badRequest(name + ": collection names are strings");
      String col = checkString(name, c.textValue(), limits.maxColLength());
      if (col.indexOf('\0') >= 0) throw ProtocolException.badRequest(name + ": must not contain NUL");
      cols.add(col);
    }
    return cols;
  }

  private static String checkString(String name, String s, int maxLength) throws ProtocolException {
    if (s.isEmpty()) throw ProtocolException.badRequest(name + ": must not be empty");
    if (isLongerThan(s, maxLength)) {
      throw ProtocolException.badRequest(name + ": longer than " + maxLength + " characters");
    }
    if (hasUnpairedSurrogate(s)) throw ProtocolException.badRequest(name + ": unpaired surrogate");
    return s;
  }

  /** True when {@code s} has more than {@code max} characters, counted as Unicode code points. */
  static boolean isLongerThan(String s, int max) {
    return s.length() > max && s.codePointCount(0, s.length()) > max;
  }

  /**
   * True when {@code s} holds half of a surrogate pair on its own. JSON can carry one as an
   * escape ({@code "\ud800"}), but it is not a Unicode character, has no UTF-8 encoding, and other
   * languages' JSON libraries replace or refuse it, so replicas would disagree about the value.
   */
  static boolean hasUnpairedSurrogate(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) return true;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return true;
      }
    }
    return false;
  }
}
