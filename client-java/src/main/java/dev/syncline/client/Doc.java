package dev.syncline.client;

import com.fasterxml.jackson.databind.JsonNode;
import dev.syncline.protocol.Json;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A document as a reader sees it: its id and its visible attributes ({@code $owner} among them,
 * {@code $deleted} never). Immutable; a document that did not change is the same object, so
 * {@code ==} tells an app whether to redraw.
 *
 * <p>Values are plain Java: {@code String}, {@code Boolean}, a {@code Number} ({@code Integer},
 * {@code Long}, {@code BigInteger}, {@code Double} or {@code BigDecimal}, as written), {@code
 * List} and {@code Map} (unmodifiable), or null.
 */
public final class Doc {
  private final String id;
  private final Map<String, JsonNode> attributes;
  private Map<String, Object> plain;

  Doc(String id, Map<String, JsonNode> attributes) {
    this.id = id;
    this.attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
  }

  public String id() {
    return id;
  }

  public boolean has(String attr) {
    return attributes.containsKey(attr);
  }

  /** An attribute's value as plain Java, or null when it has none. */
  public Object get(String attr) {
    return attributes().get(attr);
  }

  public String getString(String attr) {
    Object v = get(attr);
    return v instanceof String s ? s : null;
  }

  public Boolean getBoolean(String attr) {
    Object v = get(attr);
    return v instanceof Boolean b ? b : null;
  }

  public Number getNumber(String attr) {
    Object v = get(attr);
    return v instanceof Number n ? n : null;
  }

  /** Every visible attribute, as plain Java values (in no particular order). */
  public synchronized Map<String, Object> attributes() {
    if (plain == null) {
      Map<String, Object> out = new LinkedHashMap<>();
      attributes.forEach((k, v) -> out.put(k, Values.plain(v)));
      plain = Collections.unmodifiableMap(out);
    }
    return plain;
  }

  /** The attributes as JSON, {@code {"id": …, attr: value, …}}: a copy the caller may change. */
  public JsonNode toJson() {
    var out = Json.MAPPER.createObjectNode().put("id", id);
    attributes.forEach((k, v) -> {
      if (!k.equals("id")) out.set(k, v.deepCopy());
    });
    return out;
  }

  /**
   * A filter for {@link Collection#find} and {@link Collection#live}: documents whose attributes
   * equal every entry of {@code equal}, as JSON values ({@code 1}, {@code 1L} and {@code 1.0} alike).
   */
  public static java.util.function.Predicate<Doc> where(Map<String, ?> equal) {
    Map<String, JsonNode> wanted = new LinkedHashMap<>();
    equal.forEach((k, v) -> wanted.put(k, Values.toJson(v, k)));
    return d -> wanted.entrySet().stream().allMatch(e -> {
      JsonNode have = d.attributes.get(e.getKey());
      return have != null && dev.syncline.protocol.Merge.compareValues(have, e.getValue()) == 0;
    });
  }

  /** The value as JSON (for equality with what the server holds). */
  JsonNode json(String attr) {
    return attributes.get(attr);
  }

  Map<String, JsonNode> jsonAttributes() {
    return attributes;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Doc d && id.equals(d.id) && attributes.equals(d.attributes);
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, attributes);
  }

  @Override
  public String toString() {
    return toJson().toString();
  }
}
