package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException.Code;
import java.util.Base64;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A queue's compression and encryption settings: their defaults, their rules, and the engine's check of key ids. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class QueueStorageSettingsTest {

  private static final String K1 = Base64.getEncoder().encodeToString(new byte[32]);

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ConfigFactory.parseString("spool.encryption.keys.k1 = \"" + K1 + "\"")
          .withFallback(ConfigFactory.load()))
      .build();

  private static final QueueSettings PERSISTENT = QueueSettings.defaults().withDurability(Durability.PERSISTENT);

  @Test
  void persistentQueuesCompressWithLz4AndTransientOnesNotAtAll() {
    assertEquals(Compression.NONE, QueueSettings.defaults().compression());
    assertEquals(Compression.LZ4, PERSISTENT.compression());
    assertNull(PERSISTENT.encryption());
    assertEquals(Compression.ZSTD, PERSISTENT.withCompression(Compression.ZSTD).compression());
    assertEquals(Compression.NONE, PERSISTENT.withCompression(Compression.NONE).compression());
    // A default that follows the durability both ways; a choice is kept.
    assertEquals(Compression.NONE, PERSISTENT.withDurability(Durability.TRANSIENT).compression());
    assertEquals(Compression.NONE, PERSISTENT.withCompression(Compression.NONE).withDurability(Durability.PERSISTENT)
        .compression());
    // Equal whether the default was given or taken: declaring a queue again is idempotent.
    assertEquals(PERSISTENT, PERSISTENT.withCompression(Compression.LZ4));
    assertEquals(PERSISTENT, new QueueSettings(Durability.PERSISTENT, 0, 0, Overflow.REJECT, null,
        java.time.Duration.ZERO, null, java.time.Duration.ofMinutes(2)));
  }

  @Test
  void compressionParsesItsThreeNamesAndRefusesOthersNamingThem() {
    assertEquals(Compression.LZ4, Compression.parse("lz4"));
    assertEquals(Compression.ZSTD, Compression.parse("ZSTD"));
    assertEquals(Compression.NONE, Compression.parse("none"));
    SpoolException e = assertThrows(SpoolException.InvalidConfiguration.class, () -> Compression.parse("gzip"));
    assertTrue(e.getMessage().contains("none, lz4 or zstd") && e.getMessage().contains("gzip"), e.getMessage());
    assertThrows(SpoolException.InvalidConfiguration.class, () -> Compression.parse(null));
  }

  @Test
  void compressionAndEncryptionApplyToPersistentQueuesOnly() {
    SpoolException compressed = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> QueueSettings.defaults().withCompression(Compression.LZ4));
    assertTrue(compressed.getMessage().contains("persistent"), compressed.getMessage());
    SpoolException encrypted = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> QueueSettings.defaults().withEncryption("k1"));
    assertTrue(encrypted.getMessage().contains("persistent"), encrypted.getMessage());
    assertThrows(SpoolException.InvalidConfiguration.class,
        () -> PERSISTENT.withEncryption("k1").withDurability(Durability.TRANSIENT));
    assertEquals(QueueSettings.defaults(), QueueSettings.defaults().withCompression(Compression.NONE));
  }

  @Test
  void aKeyIdIsAShortNameAndNeverRequiredToBeSet() {
    assertEquals("k-1_b", PERSISTENT.withEncryption("k-1_b").encryptionKeyId());
    assertNull(PERSISTENT.withEncryption("k1").withEncryption(null).encryption());
    for (String bad : new String[] {"", "k.1", "k 1", "x".repeat(65), "ключ"}) {
      assertThrows(SpoolException.InvalidConfiguration.class, () -> PERSISTENT.withEncryption(bad), bad);
    }
  }

  @Test
  void aQueueWithAKeyThatIsNotConfiguredIsRefusedAndNotCreated() {
    Spool spool = Spool.create(testKit.system());
    SpoolException e = failure(spool.createQueue("enc-missing", PERSISTENT.withEncryption("k7")),
        Code.InvalidConfiguration);
    assertTrue(e.getMessage().contains("'k7'") && e.getMessage().contains("spool.encryption.keys.k7"),
        e.getMessage());
    assertFalse(result(spool.listQueues()).stream().anyMatch(q -> q.name().equals("enc-missing")));
  }

  @Test
  void aBadKeyStopsTheStartNamingTheKey() {
    SpoolException e = assertThrows(SpoolException.InvalidConfiguration.class, () -> Spool.start(
        ConfigFactory.parseString("spool.encryption.keys.broken = \"c2hvcnQ=\"").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("spool.encryption.keys.broken"), e.getMessage());
  }
}
