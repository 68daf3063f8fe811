package dev.syncline.server.auth;

import dev.syncline.protocol.ErrorCode;
import dev.syncline.protocol.Hlc;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;

/**
 * Issues and checks JWTs (Vert.x Auth JWT, HS256) naming a user ({@code sub}), with an issuer and
 * an expiry. Roles are not trusted from the token: they are looked up at each use, so a role
 * change or a disabled account takes effect at once.
 */
final class Tokens {
  /** Longest token accepted; ours are about 200 characters. */
  static final int MAX_TOKEN_CHARS = 4096;

  /** A signed token and when it expires (epoch ms). */
  record Issued(String token, long expiresAt) {}

  private final JWTAuth jwt;
  private static final int CLOCK_LEEWAY_SECONDS = 60;

  private final String issuer;
  private final long expirySeconds;

  Tokens(Vertx vertx, String signingKey, String issuer, long expirySeconds) {
    if (signingKey == null || signingKey.length() < 32) {
      // Vert.x JWT without a key would accept unsigned (alg: none) tokens: never run like that
      throw new IllegalStateException("no token signing key of at least 32 characters");
    }
    this.issuer = issuer;
    this.expirySeconds = expirySeconds;
    this.jwt = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(signingKey))
        // iat and nbf may be up to a minute ahead: a token made by another server of the cluster,
        // whose clock is a little ahead, must work here at once (expiry is checked exactly, below)
        .setJWTOptions(new JWTOptions().setIssuer(issuer).setLeeway(CLOCK_LEEWAY_SECONDS)));
  }

  /**
   * {@code stamp}: the user's password stamp, checked again whenever the token is used;
   * {@code stampTs}: when that stamp was written (the user's {@code credentialsTs}; null when unknown),
   * so that a server that has not heard of it yet can tell it from an older one.
   */
  Issued issue(String user, String stamp, String stampTs) {
    long now = System.currentTimeMillis() / 1000;
    long exp = now + expirySeconds;
    JsonObject claims = new JsonObject().put("sub", user).put("pwv", stamp).put("iat", now).put("exp", exp);
    if (stampTs != null) claims.put("pwt", stampTs);
    String token = jwt.generateToken(claims, new JWTOptions().setAlgorithm("HS256").setIssuer(issuer).setNoTimestamp(true));
    return new Issued(token, exp * 1000);
  }

  /** The user a token names, if its signature, algorithm, issuer and expiry check out; else {@code unauthenticated}. */
  Verified verify(String token) {
    if (token.length() > MAX_TOKEN_CHARS) throw refused("token: too long");
    io.vertx.core.Future<io.vertx.ext.auth.User> result;
    try {
      result = jwt.authenticate(new TokenCredentials(token));
    } catch (RuntimeException e) {
      throw refused("token: not valid"); // e.g. a claim of the wrong type that Vert.x does not expect
    }
    // HS256 verification completes synchronously; anything else is a bug, refused rather than waited for
    if (!result.isComplete() || result.failed()) throw refused("token: not valid");
    // Vert.x keeps the verified claims under attributes().accessToken (exp and iat leave the principal)
    JsonObject claims = result.result().attributes().getJsonObject("accessToken", new JsonObject());
    if (!issuer.equals(claims.getString("iss"))) throw refused("token: not valid");
    Object sub = claims.getValue("sub");
    Object exp = claims.getValue("exp");
    Object pwv = claims.getValue("pwv");
    if (!(sub instanceof String s) || !(exp instanceof Number n) || !(pwv instanceof String stamp)) {
      throw refused("token: not valid");
    }
    long expiresAt = n.longValue() * 1000;
    if (expiresAt <= System.currentTimeMillis()) throw refused("token: expired");
    long issuedAt = claims.getValue("iat") instanceof Number iat ? iat.longValue() * 1000 : 0; // ours always have one
    String stampTs = claims.getValue("pwt") instanceof String t && Hlc.isValid(t) ? t : null; // tokens of older servers have none
    return new Verified(s, expiresAt, stamp, issuedAt, stampTs);
  }

  /** {@code expiresAt}, {@code issuedAt}: epoch ms ({@code issuedAt} 0 when the token has none); {@code stampTs} may be null. */
  record Verified(String user, long expiresAt, String stamp, long issuedAt, String stampTs) {}

  private static AuthException refused(String message) {
    return new AuthException(ErrorCode.UNAUTHENTICATED, message);
  }
}
