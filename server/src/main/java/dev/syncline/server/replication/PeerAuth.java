package dev.syncline.server.replication;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Proofs that both ends of a link know the cluster secret, without sending it. The dialer signs
 * its id, a fresh nonce and the time ({@code hello.peer.proof}); the acceptor checks that and
 * signs both ids and the nonce back ({@code welcome.peer.proof}). Neither side sends or applies
 * data before the other has proven itself. A nonce is accepted once within
 * {@link #MAX_AGE_MS}, so a recorded hello cannot be replayed.
 */
final class PeerAuth {
  /** How far a dialer's clock may be from the acceptor's, and how long nonces are remembered. */
  static final long MAX_AGE_MS = 10 * 60_000;
  private static final int MAX_REMEMBERED = 100_000;

  private final byte[] secret;
  /** nonce → when it may be forgotten; guarded by this. */
  private final Map<String, Long> seen = new LinkedHashMap<>();

  PeerAuth(String clusterSecret) {
    this.secret = clusterSecret.getBytes(StandardCharsets.UTF_8);
  }

  /** The token-signing key every server of a cluster derives from its secret, when none is set. */
  static String jwtKey(String clusterSecret) {
    return Base64.getUrlEncoder().withoutPadding()
        .encodeToString(hmac(clusterSecret.getBytes(StandardCharsets.UTF_8), "syncline jwt signing key"));
  }

  static String nonce() {
    byte[] b = new byte[16];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  String dialProof(String dialer, String nonce, long time) {
    return hex("dial\n" + dialer + "\n" + nonce + "\n" + time);
  }

  String acceptProof(String acceptor, String dialer, String nonce) {
    return hex("accept\n" + acceptor + "\n" + dialer + "\n" + nonce);
  }

  /** Checks a dialer's proof; each nonce passes once. */
  synchronized boolean checkDial(String dialer, String nonce, long time, String proof, long now) {
    if (Math.abs(now - time) > MAX_AGE_MS || !same(dialProof(dialer, nonce, time), proof)) return false;
    for (Iterator<Long> it = seen.values().iterator(); it.hasNext(); ) {
      if (it.next() > now && seen.size() < MAX_REMEMBERED) break;
      it.remove();
    }
    return seen.putIfAbsent(nonce, now + 2 * MAX_AGE_MS) == null;
  }

  boolean checkAccept(String acceptor, String dialer, String nonce, String proof) {
    return same(acceptProof(acceptor, dialer, nonce), proof);
  }

  private static boolean same(String expected, String given) {
    return given != null && MessageDigest.isEqual(expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
  }

  private String hex(String message) {
    return HexFormat.of().formatHex(hmac(secret, message));
  }

  private static byte[] hmac(byte[] key, String message) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      return mac.doFinal(message.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
