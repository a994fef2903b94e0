package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Durability;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service with its Redis Streams endpoint on: streams created over RESP are persistent and outlive a restart. */
class RedisServiceTest {

  private static Config config(Path dir) {
    return ConfigFactory.load(ConfigFactory.parseMap(Map.of("spool.data-dir", dir.toString(), "spool.http.port", 0,
            "spool.redis.enabled", true, "spool.redis.port", 0))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @Test
  void aStreamAddedOverRespIsPersistentAndOutlivesARestart(@TempDir Path dir) throws Exception {
    Main.Service first = Main.init(config(dir));
    String token = Files.readString(dir.resolve("admin-token")).strip();
    int port = first.redis().orElseThrow().port();
    String payload = "p".repeat(1024);
    try (Socket s = new Socket("127.0.0.1", port)) {
      assertEquals("+OK", call(s, "AUTH", token));
      for (int i = 1; i <= 100; i++) {
        assertEquals("$" + (String.valueOf(i).length() + 2) + " " + i + "-0", call(s, "XADD", "events", "*", "payload", payload));
      }
    }
    java.net.http.HttpResponse<String> metrics = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + first.http().port() + "/metrics"))
            .header("Authorization", "Bearer " + token).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
    assertTrue(metrics.body().contains("spool_redis_commands_total 101.0"), metrics.body());
    assertTrue(metrics.body().contains("spool_redis_connections_accepted_total 1.0"), metrics.body());
    assertEquals(Durability.PERSISTENT, first.spool().queueInfo("events").toCompletableFuture().get(10, TimeUnit.SECONDS)
        .settings().durability());
    first.spool().shutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);

    Main.Service second = Main.init(config(dir));
    try (Socket s = new Socket("127.0.0.1", second.redis().orElseThrow().port())) {
      assertEquals("+OK", call(s, "AUTH", token));
      assertEquals(":100", call(s, "XLEN", "events"));
      assertTrue(call(s, "XADD", "events", "*", "payload", "after").endsWith("101-0"));
    } finally {
      second.spool().shutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** Sends a command; the reply's first line (a bulk string's first line joined with its value). */
  private static String call(Socket s, String... args) throws IOException {
    StringBuilder b = new StringBuilder("*" + args.length + "\r\n");
    for (String a : args) {
      b.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n").append(a).append("\r\n");
    }
    OutputStream out = s.getOutputStream();
    out.write(b.toString().getBytes(StandardCharsets.UTF_8));
    out.flush();
    InputStream in = s.getInputStream();
    String line = line(in);
    return line.startsWith("$") ? line + " " + line(in) : line;
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) != -1 && c != '\r') {
      b.append((char) c);
    }
    in.read();
    return b.toString();
  }
}
