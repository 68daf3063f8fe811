package dev.syncline.server.auth;

import io.netty.util.NetUtil;

/**
 * What per-address sign-in limits count by. An IPv4 address is one machine's; an IPv6 client
 * usually holds a whole /64 and can send each request from a new address in it, so IPv6
 * addresses count by their /64. A port a proxy wrote after the address ({@code a.b.c.d:port},
 * {@code [IPv6]:port}) is left out: each connection has its own. Anything that is not an IP
 * literal (a proxy's odd header) counts in one bucket with all such, so it cannot be varied to
 * get past the limits; nothing is looked up.
 */
final class AddressKey {
  private AddressKey() {}

  /** The one bucket of everything that is not an IP literal. */
  static final String NOT_AN_ADDRESS = "(not an address)";

  static String of(String address) {
    if (address == null) return null;
    // a proxy may write [IPv6]:port or a.b.c.d:port
    String literal = address.startsWith("[") && address.indexOf(']') > 0 ? address.substring(1, address.indexOf(']'))
        : address.indexOf(':') > 0 && address.indexOf(':') == address.lastIndexOf(':') ? address.substring(0, address.indexOf(':'))
        : address;
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(literal);
    if (ip == null) return NOT_AN_ADDRESS;
    if (ip.length != 16) return literal;
    if (ipv4Mapped(ip)) return (ip[12] & 0xff) + "." + (ip[13] & 0xff) + "." + (ip[14] & 0xff) + "." + (ip[15] & 0xff);
    StringBuilder prefix = new StringBuilder();
    for (int i = 0; i < 8; i += 2) prefix.append(Integer.toHexString(((ip[i] & 0xff) << 8) | (ip[i + 1] & 0xff))).append(':');
    return prefix.append(":/64").toString();
  }

  /** {@code ::ffff:a.b.c.d}: an IPv4 client of a dual-stack socket. */
  private static boolean ipv4Mapped(byte[] ip) {
    for (int i = 0; i < 10; i++) if (ip[i] != 0) return false;
    return ip[10] == (byte) 0xff && ip[11] == (byte) 0xff;
  }
}
