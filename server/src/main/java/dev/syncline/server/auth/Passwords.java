package dev.syncline.server.auth;

import com.password4j.Argon2Function;
import com.password4j.Password;
import com.password4j.types.Argon2;

/**
 * Password hashing with Argon2id (Password4j), stored as a PHC string that carries its own
 * parameters and salt, so the cost can be raised later without breaking stored hashes. Slow on
 * purpose (tens of milliseconds): call it on a worker thread, never on an event loop.
 */
public final class Passwords {
  /** OWASP's minimum for Argon2id: 19 MiB of memory, 2 iterations, 1 lane. */
  private static final Argon2Function ARGON2 = Argon2Function.getInstance(19 * 1024, 2, 1, 32, Argon2.ID);
  /** A hash of a password nobody has, checked for unknown users so they take as long as known ones. */
  private static final String DECOY = hash("decoy password that matches nothing");

  private Passwords() {}

  public static String hash(String password) {
    return Password.hash(password).addRandomSalt(16).with(ARGON2).getResult();
  }

  /**
   * The hash of a user the config declares, on a server of a cluster: its salt comes from the
   * cluster secret and the name, so every server that declares the same user with the same
   * password writes the very same hash, and their writes agree instead of replacing each other
   * (which would end the user's sign-ins everywhere). Still unique per user and cluster.
   */
  public static String hashDeclared(String password, String username, String clusterSecret) {
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
      mac.init(new javax.crypto.spec.SecretKeySpec(clusterSecret.getBytes(java.nio.charset.StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] salt = java.util.Arrays.copyOf(mac.doFinal(("declared user salt\n" + username)
          .getBytes(java.nio.charset.StandardCharsets.UTF_8)), 16);
      return Password.hash(password).addSalt(salt).with(ARGON2).getResult();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** True when {@code password} matches {@code hash}; a null hash (unknown user) costs the same and fails. */
  public static boolean verify(String password, String hash) {
    if (hash == null) {
      Password.check(password, DECOY).with(ARGON2);
      return false;
    }
    try {
      return Password.check(password, hash).with(Argon2Function.getInstanceFromHash(hash));
    } catch (RuntimeException e) {
      return false; // not a hash we made
    }
  }
}
