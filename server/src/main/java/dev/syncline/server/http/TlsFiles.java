package dev.syncline.server.http;

import dev.syncline.server.StartupException;
import io.vertx.core.Vertx;
import io.vertx.core.net.PemKeyCertOptions;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.X509KeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the TLS files before serving: the JDK takes a key that is not the certificate's, and
 * then every handshake fails while the server says it listens on https.
 */
public final class TlsFiles {
  private static final Logger log = LoggerFactory.getLogger(TlsFiles.class);

  private TlsFiles() {}

  /** Refuses ({@link StartupException}) a key that does not sign for the certificate; warns about an expired certificate. */
  public static void check(Vertx vertx, String certFile, String keyFile) {
    X509KeyManager keys;
    try {
      KeyManagerFactory factory = new PemKeyCertOptions().setCertPath(certFile).setKeyPath(keyFile).getKeyManagerFactory(vertx);
      keys = (X509KeyManager) factory.getKeyManagers()[0];
    } catch (Exception e) {
      return; // unreadable or malformed: the listener's own error says so (see StartupProblems)
    }
    try {
      for (String type : new String[] {"RSA", "EC", "EdDSA", "Ed25519"}) {
        String[] aliases = keys.getServerAliases(type, null);
        if (aliases == null) continue;
        for (String alias : aliases) {
          PrivateKey key = keys.getPrivateKey(alias);
          X509Certificate[] chain = keys.getCertificateChain(alias);
          if (key == null || chain == null || chain.length == 0) continue;
          if (!signsFor(key, chain[0])) {
            throw new StartupException("tls.keyFile " + keyFile + " is not the private key of the certificate in tls.certFile "
                + certFile + ": give the key the certificate was made for");
          }
          if (chain[0].getNotAfter().getTime() < System.currentTimeMillis()) {
            log.warn("the TLS certificate in {} expired on {}: clients will refuse it", certFile, chain[0].getNotAfter());
          }
        }
      }
    } catch (GeneralSecurityException e) {
      // a key of a kind the check cannot sign with: the handshake decides
    }
  }

  private static boolean signsFor(PrivateKey key, X509Certificate cert) throws GeneralSecurityException {
    String algorithm = switch (key.getAlgorithm()) {
      case "RSA" -> "SHA256withRSA";
      case "EC" -> "SHA256withECDSA";
      case "Ed25519", "EdDSA" -> "Ed25519";
      default -> null;
    };
    if (algorithm == null) return true; // not checked
    byte[] nonce = new byte[32];
    new java.security.SecureRandom().nextBytes(nonce);
    Signature sign = Signature.getInstance(algorithm);
    sign.initSign(key);
    sign.update(nonce);
    byte[] signature = sign.sign();
    Signature verify = Signature.getInstance(algorithm);
    try {
      verify.initVerify(cert.getPublicKey());
    } catch (java.security.InvalidKeyException e) {
      return false; // a key of another kind than the certificate's
    }
    verify.update(nonce);
    return verify.verify(signature);
  }
}
