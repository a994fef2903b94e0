package dev.spool.system.cluster;

import dev.spool.http.Authenticator;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * Members of a Spool cluster, each the service ({@code dev.spool.app.Main}) in a JVM of its own on
 * loopback, configured as an operator would: the {@code SPOOL_*} environment variables of the
 * top-level application.conf, one PostgreSQL journal for all, an admin token in each member's
 * working directory. Every member lists every member as a seed node, so that any of them, the first
 * included, rejoins the others when it is restarted; the first starts alone and forms the cluster.
 *
 * <p>The journal lives in a schema of its own ({@value #SCHEMA}) of the database at
 * {@code SPOOL_TEST_POSTGRES_URL}, emptied by {@link #freshSchema()}, so that these tests and the
 * other users of that database never see each other's tables.
 *
 * <p>Each member's console output goes to {@code member-N.log} in the run's directory under
 * {@code target/cluster/}, kept afterwards: restarts append to it after a marker line.
 */
final class ClusterNodes implements AutoCloseable {

  static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  static final String USER = env("SPOOL_TEST_POSTGRES_USER", "spool");
  static final String PASSWORD = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
  static final String SCHEMA = "spool_cluster_test";
  static final String ADMIN = "cluster-admin-token-0123456789abcdef";

  /**
   * What a journal write that conflicts with another writer of the same queue logs: the
   * journal's primary key (persistence id, sequence number) refusing the row, and Pekko
   * Persistence's failure lines around it.
   */
  static final String[] JOURNAL_CONFLICTS = {"duplicate key", "unique constraint", "Failed to persist",
      "Rejected to persist", "equence number"};

  /** What a member logs when it learns that it was downed (by the others or by its own Split Brain Resolver). */
  static final String[] DOWNED = {"Shutting down myself", "as [Down]", "is downing", "DownSelf", "DownAll",
      "DownReachable", "marked as DOWN"};

  private static final String HEAP = "-Xmx256m";
  private static final Duration READY_WITHIN = Duration.ofSeconds(120);

  /** One member: its ports, directory and, while it runs, its process. */
  static final class Member {
    final int index;
    final int httpPort;
    final int clusterPort;
    final Path dir;
    final Path log;
    Process process;
    boolean paused;

    Member(int index, int httpPort, int clusterPort, Path dir) {
      this.index = index;
      this.httpPort = httpPort;
      this.clusterPort = clusterPort;
      this.dir = dir;
      this.log = dir.getParent().resolve("member-" + index + ".log");
    }

    boolean alive() {
      return process != null && process.isAlive();
    }

    long pid() {
      return process.pid();
    }

    @Override
    public String toString() {
      return "member " + index + " (http " + httpPort + ", cluster " + clusterPort
          + (process == null ? "" : ", pid " + process.pid()) + ")";
    }
  }

  private final Path dir;
  private final List<Member> members = new ArrayList<>();
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** Requires the PostgreSQL of {@code SPOOL_TEST_POSTGRES_URL}; the caller skips without it. */
  ClusterNodes(String name, int size) throws IOException {
    this.dir = Path.of("target", "cluster", name + "-" + System.currentTimeMillis()).toAbsolutePath();
    Files.createDirectories(dir);
    Set<Integer> taken = new HashSet<>();
    for (int i = 0; i < size; i++) {
      Path memberDir = dir.resolve("member-" + i);
      Files.createDirectories(memberDir);
      // The service reads application.conf in its working directory over its built-in configuration.
      Files.writeString(memberDir.resolve("application.conf"), "spool.http.auth.tokens = [{name = \"admin\", sha256 = \""
          + Authenticator.sha256Hex(ADMIN) + "\", roles = [admin], queues = [\"*\"]}]\n");
      members.add(new Member(i, freePort(taken), freePort(taken), memberDir));
    }
  }

  static boolean postgresConfigured() {
    return URL != null && !URL.isBlank();
  }

  /** Drops and recreates this harness's schema: each test starts with an empty journal. */
  /** Skips the calling test, saying why, without a PostgreSQL to run on; else starts it on an empty schema. */
  static void requirePostgres() throws SQLException {
    org.junit.jupiter.api.Assumptions.assumeTrue(postgresConfigured(), "SPOOL_TEST_POSTGRES_URL is not set: the"
        + " cluster tests are skipped (export SPOOL_TEST_POSTGRES_URL=$(.ci/postgres) to run them)");
    freshSchema();
  }

  static void freshSchema() throws SQLException {
    try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD); Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
      s.execute("CREATE SCHEMA " + SCHEMA);
    }
  }

  /** The journal's address with this harness's schema as the only one searched. */
  static String journalUrl() {
    return URL + (URL.contains("?") ? "&" : "?") + "currentSchema=" + SCHEMA;
  }

  Path dir() {
    return dir;
  }

  List<Member> members() {
    return members;
  }

  Member member(int i) {
    return members.get(i);
  }

  int size() {
    return members.size();
  }

  URI uri(int member, String path) {
    return URI.create("http://127.0.0.1:" + members.get(member).httpPort + path);
  }

  /** Starts the first member, waits until it is ready, then the others together and waits for them. */
  void startAll() throws Exception {
    start(0);
    awaitReady(0);
    for (int i = 1; i < members.size(); i++) {
      start(i);
    }
    for (int i = 1; i < members.size(); i++) {
      awaitReady(i);
    }
  }

  /**
   * kill -9 of every member still running, then {@link #startAll()}: every queue recovers from the
   * journal alone, so that what the members held in memory no longer counts.
   */
  void restartAll() throws Exception {
    for (Member m : members) {
      if (m.alive()) {
        if (m.paused) {
          resume(m.index);
        }
        kill9(m.index);
      }
    }
    startAll();
  }

  /** Starts member {@code i} (again), appending its output to its log. */
  void start(int i) throws IOException {
    Member m = members.get(i);
    if (m.alive()) {
      throw new IllegalStateException(m + " is running");
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add(HEAP);
    // Two cores shared by three members: C1 only and one GC thread keep starts short.
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+UseSerialGC");
    command.add("-Dlogback.configurationFile=" + Path.of("src", "test", "resources", "cluster-logback.xml")
        .toAbsolutePath());
    // -Dcluster.jvm-options="-Dkey=value ..." passes settings to every member: to diagnose, or to break it on purpose.
    String extra = System.getProperty("cluster.jvm-options", "").trim();
    if (!extra.isEmpty()) {
      command.addAll(List.of(extra.split("\\s+")));
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("dev.spool.app.Main");
    ProcessBuilder b = new ProcessBuilder(command).directory(m.dir.toFile()).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(m.log.toFile()));
    Map<String, String> env = b.environment();
    env.put("SPOOL_CLUSTER_ENABLED", "on");
    env.put("SPOOL_CLUSTER_HOST", "127.0.0.1");
    env.put("SPOOL_CLUSTER_PORT", Integer.toString(m.clusterPort));
    env.put("SPOOL_CLUSTER_SEED_NODES", members.stream().map(s -> "pekko://spool@127.0.0.1:" + s.clusterPort)
        .collect(Collectors.joining(",")));
    env.put("SPOOL_JOURNAL", "postgres");
    env.put("SPOOL_JOURNAL_URL", journalUrl());
    env.put("SPOOL_JOURNAL_USER", USER);
    env.put("SPOOL_JOURNAL_PASSWORD", PASSWORD);
    env.put("SPOOL_HTTP_PORT", Integer.toString(m.httpPort));
    env.put("SPOOL_DATA_DIR", m.dir.resolve("data").toString());
    mark(m, "starting");
    m.process = b.start();
    m.paused = false;
  }

  /** Waits until member {@code i} answers 200 on {@code /health/ready}. */
  void awaitReady(int i) throws Exception {
    Member m = members.get(i);
    long deadline = System.nanoTime() + READY_WITHIN.toNanos();
    while (System.nanoTime() < deadline) {
      if (!m.alive()) {
        throw new IllegalStateException(m + " exited with " + m.process.exitValue() + " before it was ready; see "
            + m.log);
      }
      if (ready(i) == 200) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException(m + " not ready within " + READY_WITHIN + "; see " + m.log);
  }

  /** The status of member {@code i}'s {@code /health/ready}, or -1 when it does not answer within 2 s. */
  int ready(int i) {
    try {
      HttpResponse<Void> r = client.send(HttpRequest.newBuilder(uri(i, "/health/ready")).timeout(Duration.ofSeconds(2))
          .GET().build(), HttpResponse.BodyHandlers.discarding());
      return r.statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return -1;
    }
  }

  /** SIGKILL: no shutdown hook, nothing flushed, no goodbye to the cluster. */
  void kill9(int i) throws InterruptedException, IOException {
    Member m = members.get(i);
    mark(m, "kill -9");
    m.process.destroyForcibly();
    if (!m.process.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException(m + " did not end after SIGKILL");
    }
  }

  /** SIGTERM: the service's CoordinatedShutdown leaves the cluster and hands its queues over. */
  void terminate(int i, Duration within) throws InterruptedException, IOException {
    Member m = members.get(i);
    mark(m, "SIGTERM");
    m.process.destroy();
    if (!m.process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(m + " did not stop within " + within + " of SIGTERM; see " + m.log);
    }
  }

  /** SIGSTOP: the member freezes, sockets open, as in a long GC pause or a stopped VM. */
  void pause(int i) throws IOException, InterruptedException {
    Member m = members.get(i);
    signal(m, "STOP");
    m.paused = true;
    mark(m, "SIGSTOP");
  }

  /** SIGCONT after {@link #pause}. */
  void resume(int i) throws IOException, InterruptedException {
    Member m = members.get(i);
    mark(m, "SIGCONT");
    signal(m, "CONT");
    m.paused = false;
  }

  private static void signal(Member m, String signal) throws IOException, InterruptedException {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(m.pid())).inheritIO().start();
    if (kill.waitFor() != 0) {
      throw new IllegalStateException("kill -" + signal + " " + m.pid() + " failed");
    }
  }

  /** A line in the member's log saying what the harness did when, to read its log against. */
  private static void mark(Member m, String what) throws IOException {
    Files.writeString(m.log, "==== harness: " + Instant.now() + " " + what + " " + m + "\n", StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** The lines of member {@code i}'s log (every run of it) that contain any of {@code needles}. */
  List<String> grep(int i, String... needles) throws IOException {
    Path log = members.get(i).log;
    if (!Files.exists(log)) {
      return List.of();
    }
    List<String> found = new ArrayList<>();
    for (String line : Files.readAllLines(log, StandardCharsets.ISO_8859_1)) {
      for (String needle : needles) {
        if (line.contains(needle)) {
          found.add(line);
          break;
        }
      }
    }
    return found;
  }

  /** Every member's lines that contain any of {@code needles}, each prefixed with its member. */
  List<String> grepAll(String... needles) throws IOException {
    List<String> found = new ArrayList<>();
    for (int i = 0; i < members.size(); i++) {
      for (String line : grep(i, needles)) {
        found.add("member " + i + ": " + line);
      }
    }
    return found;
  }

  /**
   * The queues member {@code i} hosted at the end of its log: sharding's "runs on this member"
   * lines of its last run.
   */
  Set<String> hostedBy(int i) throws IOException {
    List<String> lines = grep(i, "==== harness: ", " runs on this member");
    Set<String> hosted = new HashSet<>();
    for (String line : lines) {
      if (line.startsWith("==== harness: ") && line.contains(" starting ")) {
        hosted.clear();
      } else if (line.contains(" - queue ") && line.endsWith(" runs on this member")) {
        String rest = line.substring(line.indexOf(" - queue ") + " - queue ".length());
        hosted.add(rest.substring(0, rest.indexOf(' ')));
      }
    }
    return hosted;
  }

  private static int freePort(Set<Integer> taken) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      try (ServerSocket s = new ServerSocket(0)) {
        if (taken.add(s.getLocalPort())) {
          return s.getLocalPort();
        }
      }
    }
    throw new IOException("no free port");
  }

  /** Kills every member still running (resuming a paused one first, so that the kill is not held up). */
  @Override
  public void close() throws Exception {
    for (Member m : members) {
      if (m.alive()) {
        if (m.paused) {
          resume(m.index);
        }
        m.process.destroyForcibly();
      }
    }
    for (Member m : members) {
      if (m.process != null) {
        m.process.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  static List<Integer> indexes(int size) {
    return IntStream.range(0, size).boxed().toList();
  }

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }
}
