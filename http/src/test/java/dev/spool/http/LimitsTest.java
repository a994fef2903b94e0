package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.FileInputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Body, URI and header limits, content types, and TLS by configuration. */
class LimitsTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(ConfigFactory.parseString("spool.http.max-body = 1k").withFallback(TestServer.tokens()));
    server.put("/api/v1/queues/limits", "{}");
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static long lastSequence() {
    return server.get("/api/v1/queues/limits").json().path("stats").path("lastSequence").asLong();
  }

  @Test
  void aBodyOverTheLimitIs413AndAppendsNothing() {
    TestServer.Response big = server.post("/api/v1/queues/limits/messages",
        "{\"payload\":\"" + "x".repeat(2000) + "\"}");
    assertEquals(413, big.status(), big.body());
    assertEquals("MessageTooLarge", big.error());
    assertEquals(0, lastSequence());

    // Without a Content-Length (chunked), the limit holds as the body streams in.
    HttpRequest chunked = HttpRequest.newBuilder(server.uri("/api/v1/queues/limits/messages"))
        .header("Authorization", "Bearer " + TestServer.ADMIN).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(
            ("{\"payload\":\"" + "y".repeat(5000) + "\"}").getBytes()))).build();
    TestServer.Response streamed = server.send(chunked);
    assertEquals(413, streamed.status(), streamed.body());
    assertEquals(0, lastSequence());
    assertEquals(201, server.post("/api/v1/queues/limits/messages", "{\"payload\":\"small\"}").status());
  }

  @Test
  void anotherContentTypeIs415() {
    HttpRequest text = HttpRequest.newBuilder(server.uri("/api/v1/queues/limits/messages"))
        .header("Authorization", "Bearer " + TestServer.ADMIN).header("Content-Type", "text/plain")
        .POST(HttpRequest.BodyPublishers.ofString("{\"payload\":\"x\"}")).build();
    TestServer.Response r = server.send(text);
    assertEquals(415, r.status());
    assertEquals("UnsupportedMediaType", r.error());
  }

  @Test
  void longUrisAndTooManyHeadersAre4xxNot5xx() {
    TestServer.Response longUri = server.get("/api/v1/queues/" + "a".repeat(20_000));
    assertEquals(414, longUri.status());
    assertEquals("UriTooLong", longUri.error());
    assertEquals("DENY", longUri.header("X-Frame-Options"));

    HttpRequest.Builder many = HttpRequest.newBuilder(server.uri("/api/v1/queues"))
        .header("Authorization", "Bearer " + TestServer.ADMIN);
    for (int i = 0; i < 200; i++) {
      many.header("X-Filler-" + i, "v");
    }
    TestServer.Response tooMany = server.send(many.build());
    assertTrue(tooMany.status() >= 400 && tooMany.status() < 500, "status " + tooMany.status());
    assertTrue(tooMany.error().length() > 0, tooMany.body());
  }

  @Test
  void tlsIsAConfigurationSwitch() throws Exception {
    Path dir = Files.createTempDirectory("spool-tls");
    Path keystore = dir.resolve("spool.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "spool", "-keyalg", "EC", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "changeit")
        .redirectErrorStream(true).start();
    assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0, "keytool made a keystore");

    try (TestServer tls = TestServer.start(ConfigFactory.parseString("spool.http.tls { enabled = on, keystore = \""
        + keystore + "\", password = changeit }").withFallback(TestServer.tokens()))) {
      assertTrue(tls.binding.url().startsWith("https://"));
      KeyStore trusted = KeyStore.getInstance("PKCS12");
      try (FileInputStream in = new FileInputStream(keystore.toFile())) {
        trusted.load(in, "changeit".toCharArray());
      }
      TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(trusted);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      HttpClient client = HttpClient.newBuilder().sslContext(context).build();
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(
              java.net.URI.create("https://127.0.0.1:" + tls.binding.port() + "/api/v1/queues"))
          .header("Authorization", "Bearer " + TestServer.ADMIN).build(), HttpResponse.BodyHandlers.ofString());
      assertEquals(200, r.statusCode());
    }

    Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> SpoolHttpServer.start(server.spool,
        ConfigFactory.parseString("spool.http { port = 0, tls { enabled = on, keystore = \"/nonexistent.p12\" } }")
            .withFallback(TestServer.tokens()).withFallback(ConfigFactory.load())).toCompletableFuture().get());
    assertTrue(e.getCause().getMessage().contains("keystore"), e.toString());
  }
}
