package dev.syncline.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Per-address limits count IPv4 addresses one by one and IPv6 addresses by /64")
class AddressKeyTest {
  @Test
  @DisplayName("one /64 is one key, however it is written; IPv4 and IPv4-mapped addresses are themselves, also with a port; "
      + "anything else is one key")
  void keys() {
    assertEquals("2001:db8:1:2::/64", AddressKey.of("2001:db8:1:2::1"));
    assertEquals("2001:db8:1:2::/64", AddressKey.of("2001:0DB8:0001:0002:ffff:0:0:2"));
    assertEquals("2001:db8:1:3::/64", AddressKey.of("2001:db8:1:3::1"));
    assertEquals("2001:db8:1:3::/64", AddressKey.of("[2001:db8:1:3::7]:51234"), "as a proxy may write it, with a port");
    assertEquals("198.51.100.9", AddressKey.of("198.51.100.9"));
    assertEquals("198.51.100.9", AddressKey.of("::ffff:198.51.100.9"));
    assertEquals("198.51.100.9", AddressKey.of("198.51.100.9:40001"), "as a proxy may write it, with a port");
    assertEquals(AddressKey.NOT_AN_ADDRESS, AddressKey.of("unknown"));
    assertEquals(AddressKey.NOT_AN_ADDRESS, AddressKey.of("unknown2"), "not varied to get past the limits");
    assertEquals(AddressKey.NOT_AN_ADDRESS, AddressKey.of("host.example:80"));
    assertEquals(null, AddressKey.of(null));
  }
}
