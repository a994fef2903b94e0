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
 * is hashed on each request and compared with every known hash in constant time, so neither
 * the hashes' contents nor which entry matched leak through timing. SHA-256 without salt or
 * stretching suffices because tokens are long random strings, not passwords.
 *
 * <p>Tokens come from four places: {@code spool.http.auth.tokens}; the admin token generated into
 * the data directory when nothing is configured; {@code spool.definitions.tokens}, read at each
 * start; and tokens imported through {@code POST /api/v1/definitions}, kept in the data directory
 * so that they hold across restarts. A name holds one token: declaring it again with the same
 * token, roles and queues changes nothing, with others is refused, as is one token under two names.
 */
public final class Authenticator {

  private static final Logger log = LoggerFactory.getLogger(Authenticator.class);

  /** 32 random bytes: 256 bits, as much as the hash keeps. */
  private static final int GENERATED_TOKEN_BYTES = 32;

  /** Where a token came from; only imported ones are written back to the data directory. */
  enum Source { CONFIGURED, GENERATED, DECLARED, IMPORTED }

  private record Entry(byte[] hash, Principal principal, HttpSettings.TokenEntry token, Source source) {}

  /** Replaced whole under the lock, read without it on every request. */
  private volatile List<Entry> entries;
  private final Path importedFile;

  private Authenticator(List<Entry> entries, Path importedFile) {
    this.entries = List.copyOf(entries);
    this.importedFile = importedFile;
  }

  /**
   * An authenticator and, when this start generated it, the admin token to show once.
   *
   * @param authenticator checks tokens
   * @param generatedToken the token generated now (print it once, never log it), or empty
   * @param refused the declared tokens not taken, each with the reason (a conflict with another token)
   */
  public record Prepared(Authenticator authenticator, Optional<String> generatedToken, List<String> refused) {
    @Override
    public String toString() {
      return "Prepared[generated=" + generatedToken.isPresent() + ", refused=" + refused.size() + "]";
    }
  }

  /** As {@link #prepare(HttpSettings, List)} with no tokens declared in {@code spool.definitions}. */
  public static Prepared prepare(HttpSettings settings) {
    return prepare(settings, List.of());
  }

  /**
   * The authenticator for {@code settings}: the configured and {@code declared} tokens, or else the
   * admin token kept in the data directory, generated and saved owner-only on the first start; and
   * the tokens imported earlier. Refuses a non-loopback host without configured or declared tokens,
   * so that a service reachable from elsewhere is never guarded by a token nobody chose.
   */
  public static Prepared prepare(HttpSettings settings, List<HttpSettings.TokenEntry> declared) {
    List<Entry> entries = new ArrayList<>();
    for (HttpSettings.TokenEntry t : settings.tokens()) {
      entries.add(entry(t, Source.CONFIGURED));
    }
    List<String> refused = new ArrayList<>();
    for (HttpSettings.TokenEntry t : declared) {
      add(entries, t, Source.DECLARED, refused);
    }
    Optional<String> generated = Optional.empty();
    if (!entries.isEmpty() && Files.exists(settings.tokenFile())) {
      // A token generated before tokens were configured: a client reading it gets 401 and should hear why.
      log.info("The admin token in {} is not used while tokens are configured: delete it if nothing reads it",
          settings.tokenFile());
    }
    if (entries.isEmpty()) {
      if (!isLoopback(settings.host())) {
        throw new SpoolException.InvalidConfiguration("refusing to serve on " + settings.host()
            + " without authentication: configure spool.http.auth.tokens, or bind to 127.0.0.1");
      }
      String token = adminToken(settings.tokenFile());
      if (token == null) {
        token = generate();
        saveAdminToken(settings.tokenFile(), token);
        log.info("Generated an admin token, saved owner-only in {}", settings.tokenFile());
        generated = Optional.of(token);
      }
      entries.add(new Entry(sha256(token), new Principal("admin", Set.of(Role.ADMIN), List.of(Pattern.compile(".*"))),
          null, Source.GENERATED));
    }
    for (HttpSettings.TokenEntry t : readImported(settings.importedTokenFile())) {
      List<String> shadowed = new ArrayList<>();
      add(entries, t, Source.IMPORTED, shadowed);
      shadowed.forEach(reason -> refused.add("imported " + reason));
    }
    return new Prepared(new Authenticator(entries, settings.importedTokenFile()), generated, List.copyOf(refused));
  }

  /** Adds {@code token} unless it conflicts with one of {@code entries}, else says why in {@code refused}. */
  private static void add(List<Entry> entries, HttpSettings.TokenEntry token, Source source, List<String> refused) {
    try {
      if (conflict(entries, token) == null) {
        entries.add(entry(token, source));
      }
    } catch (SpoolException.TokenAlreadyExists e) {
      refused.add(e.getMessage());
    }
  }

  private static Entry entry(HttpSettings.TokenEntry t, Source source) {
    return new Entry(HexFormat.of().parseHex(t.sha256()), t.principal(), t, source);
  }

  /**
   * The entry already holding {@code token} exactly as asked, {@code null} if none holds its name or
   * its hash; {@code TokenAlreadyExists} when its name holds something else or another name holds it.
   */
  private static Entry conflict(List<Entry> entries, HttpSettings.TokenEntry token) {
    byte[] hash = HexFormat.of().parseHex(token.sha256());
    for (Entry e : entries) {
      boolean sameName = e.principal.name().equals(token.name());
      boolean sameHash = MessageDigest.isEqual(e.hash, hash);
      if (sameName && token.equals(e.token)) {
        return e;
      }
      if (sameName) {
        throw new SpoolException.TokenAlreadyExists("token '" + token.name() + "' exists with "
            + (e.token == null ? "another token (the generated admin token)" : differences(e.token, token)));
      }
      if (sameHash) {
        // Which token it is stays unsaid; the name of its holder is what an admin needs to resolve it.
        throw new SpoolException.TokenAlreadyExists("token '" + token.name() + "' is the same token as '"
            + e.principal.name() + "': each name needs its own token");
      }
    }
    return null;
  }

  private static String differences(HttpSettings.TokenEntry was, HttpSettings.TokenEntry asked) {
    List<String> out = new ArrayList<>();
    if (!was.sha256().equals(asked.sha256())) {
      out.add("another token");
    }
    if (!was.roles().equals(asked.roles())) {
      out.add("roles " + roleNames(was.roles()) + ", not " + roleNames(asked.roles()));
    }
    if (!was.queues().equals(asked.queues())) {
      out.add("queues " + was.queues() + ", not " + asked.queues());
    }
    return String.join(", ", out);
  }

  static List<String> roleNames(Set<Role> roles) {
    return roles.stream().sorted().map(r -> r.name().toLowerCase(java.util.Locale.ROOT)).toList();
  }

  /**
   * Declares an imported token: {@code true} when added (and written to the data directory before
   * it authenticates anyone), {@code false} when it was there as asked. Blocks on the file: call it
   * off the request threads.
   *
   * @throws SpoolException.TokenAlreadyExists when its name holds something else or another name holds it
   */
  synchronized boolean importToken(HttpSettings.TokenEntry token) {
    List<Entry> next = new ArrayList<>(entries);
    if (conflict(next, token) != null) {
      return false;
    }
    next.add(entry(token, Source.IMPORTED));
    writeImported(next.stream().filter(e -> e.source == Source.IMPORTED).map(Entry::token).toList());
    entries = List.copyOf(next);
    return true;
  }

  /** Every token but the generated admin token (which belongs to this installation), sorted by name. */
  List<HttpSettings.TokenEntry> tokens() {
    return entries.stream().filter(e -> e.token != null).map(Entry::token)
        .sorted(java.util.Comparator.comparing(HttpSettings.TokenEntry::name)).toList();
  }

  /** The principal holding {@code token}, or empty when no known token matches. */
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

  /** The imported tokens' file as written: {@code [{"name":…,"sha256":…,"roles":[…],"queues":[…]}]}. */
  record StoredToken(String name, String sha256, List<String> roles, List<String> queues) {}

  private static List<HttpSettings.TokenEntry> readImported(Path file) {
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      StoredToken[] stored = Json.read(Files.readAllBytes(file), StoredToken[].class);
      List<HttpSettings.TokenEntry> tokens = new ArrayList<>();
      for (StoredToken t : stored) {
        tokens.add(HttpSettings.TokenEntry.of(t.name(), t.sha256(), t.roles(), t.queues()));
      }
      warnIfShared(file, "imported tokens");
      return tokens;
    } catch (IOException | SpoolException e) {
      throw new SpoolException.InvalidConfiguration("the imported tokens file " + file + " cannot be read ("
          + e.getMessage() + "): restore it from a backup or delete it and import the tokens again");
    }
  }

  private void writeImported(List<HttpSettings.TokenEntry> tokens) {
    List<StoredToken> stored = tokens.stream()
        .map(t -> new StoredToken(t.name(), t.sha256(), roleNames(t.roles()), t.queues())).toList();
    Path dir = importedFile.toAbsolutePath().getParent();
    try {
      Files.createDirectories(dir);
      Path temp = Files.createTempFile(dir, ".imported-tokens", ".tmp", ownerOnlyAttribute());
      try {
        Files.write(temp, Json.write(stored));
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(temp,
            java.nio.file.StandardOpenOption.WRITE)) {
          channel.force(true);
        }
        // A rename replaces the file whole: a crash leaves the old list or the new one, never half of one.
        Files.move(temp, importedFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(temp);
      }
    } catch (IOException e) {
      throw new SpoolException.JournalUnavailable("the imported tokens file " + importedFile
          + " cannot be written: " + e.getMessage());
    }
  }

  private static java.nio.file.attribute.FileAttribute<?>[] ownerOnlyAttribute() {
    if (!java.nio.file.FileSystems.getDefault().supportedFileAttributeViews().contains("posix")) {
      return new java.nio.file.attribute.FileAttribute<?>[0];
    }
    return new java.nio.file.attribute.FileAttribute<?>[] {
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))};
  }

  /** The admin token kept in {@code file}, or {@code null} when there is none yet. */
  private static String adminToken(Path file) {
    try {
      if (!Files.exists(file)) {
        return null;
      }
      String token = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (token.isEmpty()) {
        throw new SpoolException.InvalidConfiguration("the admin token file " + file + " is empty");
      }
      warnIfShared(file, "admin token");
      return token;
    } catch (IOException e) {
      throw new SpoolException.InvalidConfiguration("cannot read the admin token file " + file + ": " + e);
    }
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

  private static String generate() {
    byte[] bytes = new byte[GENERATED_TOKEN_BYTES];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static void saveAdminToken(Path file, String token) {
    try {
      save(file, token);
    } catch (IOException e) {
      throw new SpoolException.InvalidConfiguration("cannot write the admin token file " + file + ": " + e);
    }
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

  private static void warnIfShared(Path file, String what) {
    try {
      Set<PosixFilePermission> p = Files.getPosixFilePermissions(file);
      if (p.stream().anyMatch(x -> x.name().startsWith("GROUP") || x.name().startsWith("OTHERS"))) {
        log.warn("The {} file {} is readable by others than its owner: chmod 600 it", what, file);
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
