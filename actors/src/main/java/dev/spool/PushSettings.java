package dev.spool;

import java.net.URI;
import java.net.URISyntaxException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

/**
 * Where and how a push consumer delivers: each message is sent as an HTTP request to
 * {@code endpoint}, and the consumer's own settings govern the rest (its {@code backoff} and
 * {@code maxDeliveries} are the retry policy, its {@code prefetch} bounds the requests in flight
 * together with {@code maxOutstanding}). A 2xx answer acknowledges; a status in
 * {@code permanentStatuses} dead-letters at once; any other answer, a timeout or a connection error
 * nacks, so the message is retried after the backoff and dead-lettered after the limit.
 *
 * <p>The requests are made by the {@link PushTransport} of the process (the HTTP module's, in the
 * service); it decides which hosts may be called.
 *
 * @param endpoint the receiver's URL: {@code https} (or {@code http}), no user information, no fragment
 * @param ackDeadline how long one request may take before it counts as failed, 1 s to 10 min
 * @param maxOutstanding requests in flight at most, 1 to 1,000
 * @param permanentStatuses answers that mean "never retry this message", each 400 to 599
 * @param nonce what makes this consumer's signing secret its own, 32 hex digits; a new one gives a new secret
 * @since 0.1.0
 */
public record PushSettings(
    URI endpoint, Duration ackDeadline, int maxOutstanding, Set<Integer> permanentStatuses, String nonce) {

  /** The longest endpoint accepted. */
  public static final int MAX_ENDPOINT_LENGTH = 2048;
  /** The most requests one push consumer may have in flight. */
  public static final int MAX_OUTSTANDING = 1000;
  /** The longest a request may take. */
  public static final Duration MAX_ACK_DEADLINE = Duration.ofMinutes(10);
  /** The default ack deadline. */
  public static final Duration DEFAULT_ACK_DEADLINE = Duration.ofSeconds(30);
  /** The default bound on requests in flight. */
  public static final int DEFAULT_MAX_OUTSTANDING = 100;

  private static final SecureRandom RANDOM = new SecureRandom();

  /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
  public PushSettings {
    checkEndpoint(endpoint);
    if (ackDeadline == null || ackDeadline.compareTo(Duration.ofSeconds(1)) < 0
        || ackDeadline.compareTo(MAX_ACK_DEADLINE) > 0) {
      throw new SpoolException.InvalidConfiguration("push ackDeadline must be between PT1S and PT10M, not " + ackDeadline);
    }
    if (maxOutstanding < 1 || maxOutstanding > MAX_OUTSTANDING) {
      throw new SpoolException.InvalidConfiguration(
          "push maxOutstanding must be between 1 and " + MAX_OUTSTANDING + ", not " + maxOutstanding);
    }
    if (permanentStatuses == null) {
      throw new SpoolException.InvalidConfiguration("push permanentStatuses must be a list (it may be empty)");
    }
    for (Integer status : permanentStatuses) {
      if (status == null || status < 400 || status > 599) {
        throw new SpoolException.InvalidConfiguration(
            "push permanentStatuses must be HTTP error statuses (400 to 599), not " + status);
      }
    }
    permanentStatuses = Set.copyOf(new TreeSet<>(permanentStatuses));
    if (nonce == null || !nonce.matches("[0-9a-f]{32}")) {
      throw new SpoolException.InvalidConfiguration("push nonce must be 32 lowercase hex digits");
    }
  }

  /**
   * Push to {@code endpoint} with the defaults: a 30 s deadline, 100 requests in flight, 422 as the
   * permanent failure, and a fresh nonce.
   */
  public static PushSettings to(String endpoint) {
    return new PushSettings(parse(endpoint), DEFAULT_ACK_DEADLINE, DEFAULT_MAX_OUTSTANDING, Set.of(422), newNonce());
  }

  /** These settings with another ack deadline. */
  public PushSettings ackDeadline(Duration ackDeadline) {
    return new PushSettings(endpoint, ackDeadline, maxOutstanding, permanentStatuses, nonce);
  }

  /** These settings with another bound on requests in flight. */
  public PushSettings maxOutstanding(int maxOutstanding) {
    return new PushSettings(endpoint, ackDeadline, maxOutstanding, permanentStatuses, nonce);
  }

  /** These settings with other permanent-failure statuses. */
  public PushSettings permanentStatuses(Set<Integer> permanentStatuses) {
    return new PushSettings(endpoint, ackDeadline, maxOutstanding, permanentStatuses, nonce);
  }

  /** These settings with another nonce: the same push with a new signing secret. */
  public PushSettings nonce(String nonce) {
    return new PushSettings(endpoint, ackDeadline, maxOutstanding, permanentStatuses, nonce);
  }

  /** A fresh random nonce. */
  public static String newNonce() {
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  /** Whether these settings push the same way as {@code other}: everything but the nonce alike. */
  public boolean sameDelivery(PushSettings other) {
    return other != null && endpoint.equals(other.endpoint) && ackDeadline.equals(other.ackDeadline)
        && maxOutstanding == other.maxOutstanding && permanentStatuses.equals(other.permanentStatuses);
  }

  /** The settings without the nonce, which is part of what the consumer's secret is made from and never shown. */
  @Override
  public String toString() {
    return "push to " + endpoint + " (ackDeadline " + ackDeadline + ", maxOutstanding " + maxOutstanding
        + ", permanentStatuses " + new TreeSet<>(permanentStatuses) + ")";
  }

    /** Parses and checks an endpoint. */
  public static URI parse(String endpoint) {
    if (endpoint == null || endpoint.isBlank()) {
      throw new SpoolException.InvalidConfiguration("push endpoint is required");
    }
    if (endpoint.length() > MAX_ENDPOINT_LENGTH) {
      throw new SpoolException.InvalidConfiguration(
          "push endpoint must be at most " + MAX_ENDPOINT_LENGTH + " characters");
    }
    try {
      URI uri = new URI(endpoint);
      checkEndpoint(uri);
      return uri;
    } catch (URISyntaxException e) {
      throw new SpoolException.InvalidConfiguration("push endpoint is not a URL: " + e.getReason()
          + " at index " + e.getIndex());
    }
  }

  private static void checkEndpoint(URI uri) {
    if (uri == null) {
      throw new SpoolException.InvalidConfiguration("push endpoint is required");
    }
    if (uri.toString().length() > MAX_ENDPOINT_LENGTH) {
      throw new SpoolException.InvalidConfiguration(
          "push endpoint must be at most " + MAX_ENDPOINT_LENGTH + " characters");
    }
    String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!"https".equals(scheme) && !"http".equals(scheme)) {
      throw new SpoolException.InvalidConfiguration("push endpoint must be an https (or http) URL");
    }
    if (uri.getRawUserInfo() != null) {
      throw new SpoolException.InvalidConfiguration(
          "push endpoint must not carry credentials; receivers verify the signature header instead");
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new SpoolException.InvalidConfiguration("push endpoint must name a host");
    }
    if (uri.getPort() == 0 || uri.getPort() > 65_535 || uri.getPort() < -1) {
      throw new SpoolException.InvalidConfiguration("push endpoint port must be between 1 and 65535");
    }
    if (uri.getRawFragment() != null) {
      throw new SpoolException.InvalidConfiguration("push endpoint must not have a fragment");
    }
  }
}
