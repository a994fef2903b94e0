package dev.spool.http;

import dev.spool.SpoolException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a bearer token into a {@link Principal}. Only SHA-256 hashes of tokens are held; a token
 * is hashed on each request and compared with every configured hash in constant time, so neither
 * the hashes' contents nor which entry matched leak through timing. SHA-256 without salt or
 * stretching suffices because tokens are long random strings, not passwords.
 */
public final class Authenticator {

  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);

  /** 32 random bytes: 256 bits, as much as the hash keeps. */
  private static final int GENERATED_TOKEN_BYTES = 32;

  private record Entry(byte[] hash, Principal principal) {}

  private final List<Entry> entries;

  private Authenticator(List<Entry> entries) {
    this.entries = entries;
  }

  /**
   * An authenticator and, when this start generated it, the admin token to show once.
   *
   * @param authenticator checks tokens
   * @param generatedToken the token generated now (print it once, never log it), or empty
   */
  public record Prepared(Authenticator authenticator, Optional<String> generatedToken) {
    @Override
    public String toString() {
      return "Prepared[generated=" + generatedToken.isPresent() + "]";
    }
  }

  /**
   * The authenticator for {@code settings}: the configured tokens, or else the admin token kept in
   * the data directory, generated and saved owner-only on the first start. Refuses a non-loopback
   * host without configured tokens, so that a service reachable from elsewhere is never guarded by
   * a token nobody chose.
   */
  public static Prepared prepare(HttpSettings settings) {
    if (!settings.tokens().isEmpty()) {
      List<Entry> entries = new ArrayList<>();
      for (HttpSettings.TokenEntry t : settings.tokens()) {
        entries.add(new Entry(HexFormat.of().parseHex(t.sha256()),
            new Principal(t.name(), t.roles(), t.queues().stream().map(Principal::compile).toList())));
      }
      return new Prepared(new Authenticator(List.copyOf(entries)), Optional.empty());
    }
    if (!isLoopback(settings.host())) {
      throw new SpoolException.InvalidConfiguration("refusing to serve on " + settings.host()
          + " without authentication: configure spool.http.auth.tokens, or bind to 127.0.0.1");
    }
    Path file = settings.tokenFile();
    try {
      if (Files.exists(file)) {
        String token = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (token.isEmpty()) {
          throw new SpoolException.InvalidConfiguration("the admin token file " + file + " is empty");
        }
        warnIfShared(file);
        return new Prepared(admin(token), Optional.empty());
      }
      String token = generate();
      save(file, token);
      log.info("Generated an admin token, saved owner-only in {}", file);
      return new Prepared(admin(token), Optional.of(token));
    } catch (IOException e) {
      throw new SpoolException.InvalidConfiguration("cannot read or write the admin token file " + file + ": " + e);
    }
  }

  /** The principal holding {@code token}, or empty when no configured token matches. */
  public Optional<Principal> authenticate(String token) {
    byte[] hash = sha256(token);
    Principal found = null;
    for (Entry e : entries) {
      // No early exit: every entry is compared, so timing does not tell which one matched.
      if (MessageDigest.isEqual(e.hash, hash)) {
        found = e.principal;
      }
    }
    return Optional.ofNullable(found);
  }

  /** SHA-256 of the token's UTF-8 bytes, as hex: what {@code spool.http.auth.tokens[].sha256} holds. */
  public static String sha256Hex(String token) {
    return HexFormat.of().formatHex(sha256(token));
  }

  /** One digest per thread: looking the algorithm up costs more than hashing a token, on every request. */
  private static final ThreadLocal<MessageDigest> SHA_256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  });

  private static byte[] sha256(String token) {
    return SHA_256.get().digest(token.getBytes(StandardCharsets.UTF_8)); // digest() resets it for the next use
  }

  private static Authenticator admin(String token) {
    Principal admin = new Principal("admin", Set.of(Role.ADMIN), List.of(Pattern.compile(".*")));
    return new Authenticator(List.of(new Entry(sha256(token), admin)));
  }

  private static String generate() {
    byte[] bytes = new byte[GENERATED_TOKEN_BYTES];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static void save(Path file, String token) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rw-------");
    try {
      // Created with its permissions in one step: there is no moment at which others could read it.
      Files.createFile(file, PosixFilePermissions.asFileAttribute(ownerOnly));
    } catch (UnsupportedOperationException notPosix) {
      Files.createFile(file);
      log.warn("{} is not on a POSIX file system: restrict who may read it by hand", file);
    } catch (FileAlreadyExistsException e) {
      throw new IOException("it appeared while Spool was starting; start again", e);
    }
    Files.writeString(file, token + "\n", StandardCharsets.UTF_8);
  }

  private static void warnIfShared(Path file) {
    try {
      Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
      if (p.stream().anyMatch(x -> x.name().startsWith("GROUP") || x.name().startsWith("OTHERS"))) {
        log.warn("The admin token file {} is readable by others than its owner: chmod 600 it", file);
      }
    } catch (UnsupportedOperationException | IOException e) {
      // Not a POSIX file system: nothing to check.
    }
  }

  static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      throw new SpoolException.InvalidConfiguration("spool.http.host '" + host + "' does not resolve");
    }
  }
}
