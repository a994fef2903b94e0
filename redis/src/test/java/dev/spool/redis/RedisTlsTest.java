package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SslOptions;
import io.lettuce.core.ClientOptions;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** TLS is a configuration switch, as for the HTTP service: Lettuce over TLS works; plaintext gets nothing. */
class RedisTlsTest {

  @Test
  void theEndpointSpeaksTlsWhenConfigured() throws Exception {
    Path dir = Files.createTempDirectory("spool-redis-tls");
    Path keystore = dir.resolve("spool.p12");
    Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "spool", "-keyalg", "EC", "-dname", "CN=localhost", "-ext", "SAN=ip:127.0.0.1",
        "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(), "-storepass", "changeit")
        .redirectErrorStream(true).start();
    assertThat(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0).isTrue();
    try (RedisTestServer server = RedisTestServer.start(ConfigFactory.parseString(
        "spool.redis.tls { enabled = on, keystore = \"" + keystore + "\", password = changeit }"))) {
      RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(server.port())
          .withSsl(true).withPassword(RedisTestServer.ADMIN.toCharArray()).withTimeout(Duration.ofSeconds(20)).build());
      client.setOptions(ClientOptions.builder().sslOptions(SslOptions.builder().jdkSslProvider()
          .truststore(keystore.toFile(), "changeit").build()).build());
      try {
        var redis = client.connect().sync();
        assertThat(redis.xadd("tls-s", Map.of("payload", "secret"))).isEqualTo("1-0");
        assertThat(redis.xlen("tls-s")).isEqualTo(1);
      } finally {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      }
      // A plaintext client gets no RESP reply (the TLS handshake fails and the connection closes).
      try (Socket plain = new Socket("127.0.0.1", server.port())) {
        plain.setSoTimeout(5_000);
        plain.getOutputStream().write(RawResp.encode("PING"));
        InputStream in = plain.getInputStream();
        byte[] got = in.readNBytes(1);
        assertThat(new String(got, StandardCharsets.ISO_8859_1)).isNotEqualTo("-").isNotEqualTo("+");
      } catch (java.io.IOException closed) {
        // closed by the server: what a plaintext client should see
      }
    }
    assertThatThrownBy(() -> RedisTestServer.start(ConfigFactory.parseString(
        "spool.redis.tls { enabled = on, keystore = \"/nonexistent.p12\" }")))
        .hasMessageContaining("spool.redis.tls").hasMessageContaining("keystore");
  }
}
