package dev.spool.durable;

import static dev.spool.storage.TestMessages.MARKER;
import static dev.spool.storage.TestMessages.assertSameMessages;
import static dev.spool.storage.TestMessages.contains;
import static dev.spool.storage.TestMessages.orders;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.Compression;
import dev.spool.ConsumerSettings;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.Overflow;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.storage.KeyRing;
import dev.spool.storage.MessageFormat;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.NotSerializableException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.Test;

/**
 * Encrypted queues' journal events and snapshots: their messages (payloads, headers, every field)
 * never reach the bytes stored in the clear, read back equal with the key, and fail loudly without
 * it. Also the queue registry's definitions with compression and encryption, and every older form.
 */
class JournalEncryptionTest {

  private static final String K1 = key();
  private static final KeyRing RING =
      KeyRing.create(ConfigFactory.parseString("spool.encryption.keys.k1 = \"" + K1 + "\""));
  private final JournalSerializer serializer = new JournalSerializer(RING);

  private static String key() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  private static List<Message> mixed() {
    List<Message> messages = new ArrayList<>(orders(1, 1000, 1024));
    messages.addAll(orders(1001, 64, 64 * 1024)); // 4 MiB: several frames
    return messages;
  }

  private static QueueEvent event(List<Message> messages, String keyId) {
    ConsumerSettings consumer = ConsumerSettings.named("billing");
    return new QueueEvent(42, messages, List.of(new QueueEvent.ConsumerRecord(consumer, 1)), List.of("gone"),
        Map.of("billing", new ConsumerPosition(9, new long[] {4, 6}, new int[] {1, 3}, false)), new long[] {2, 5},
        2, 700, keyId);
  }

  private static QueueSnapshot snapshot(List<Message> messages, String keyId) {
    return new QueueSnapshot(4000, 1064, messages,
        List.of(new QueueEvent.ConsumerRecord(ConsumerSettings.named("c"), 1)),
        Map.of("c", new ConsumerPosition(900, new long[] {850}, new int[] {2}, false)),
        List.of(new QueueSnapshot.DedupEntry(UUID.randomUUID(), 3, 1_764_000_000_000L)), 512, 9, new long[] {17, 300},
        keyId);
  }

  /** Every string of the messages that must not be stored in the clear. */
  private static void assertNoPlaintext(byte[] stored) {
    for (String secret : new String[] {MARKER, "order.created", "customer-1", "application/json", "producer-1",
        "traceparent", "\"orderId\""}) {
      assertFalse(contains(stored, secret), "'" + secret + "' is stored in the clear");
    }
  }

  @Test
  void anEncryptedEventReadsBackEqualAndStoresNoPlaintext() throws Exception {
    List<Message> messages = mixed();
    QueueEvent event = event(messages, "k1");
    byte[] stored = serializer.toBinary(event);
    assertNoPlaintext(stored);
    assertTrue(contains(serializer.toBinary(event(messages, null)), MARKER), "the scan finds what is in the clear");

    QueueEvent read = (QueueEvent) serializer.fromBinary(stored, serializer.manifest(event));
    assertSameMessages(messages, read.messages());
    assertEquals("k1", read.keyId());
    assertEquals(700, read.sealedThrough());
    assertEquals(2, read.freedBelow());
    assertEquals(event.created(), read.created());
    assertEquals(List.of("gone"), read.deleted());
    assertEquals(event.positions(), read.positions());
  }

  @Test
  void anEncryptedEventWithoutMessagesOrOfOneMessageReadsBack() throws Exception {
    for (List<Message> messages : List.of(List.<Message>of(), orders(5, 1, 1024))) {
      QueueEvent event = event(messages, "k1");
      QueueEvent read = (QueueEvent) serializer.fromBinary(serializer.toBinary(event), serializer.manifest(event));
      assertSameMessages(messages, read.messages());
    }
  }

  @Test
  void anEncryptedSnapshotStreamsReadsBackInPiecesAndStoresNoPlaintext() throws Exception {
    List<Message> messages = mixed();
    QueueSnapshot snapshot = snapshot(messages, "k1");
    ByteArrayOutputStream streamed = new ByteArrayOutputStream();
    serializer.write(snapshot, streamed);
    byte[] stored = streamed.toByteArray();
    assertNoPlaintext(stored);
    assertNoPlaintext(serializer.toBinary(snapshot));
    assertEquals(serializer.toBinary(snapshot).length, stored.length, "toBinary counts what it writes");

    InputStream pieces = new FilterInputStream(new ByteArrayInputStream(stored)) {
      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        return super.read(b, off, Math.min(len, 7));
      }
    };
    QueueSnapshot read = (QueueSnapshot) serializer.read(pieces, serializer.manifest(snapshot));
    assertSameMessages(messages, read.messages());
    assertEquals("k1", read.keyId());
    assertEquals(512, read.sealedThrough());
    assertEquals(snapshot.positions(), read.positions());
    assertEquals(snapshot.dedup(), read.dedup());
    assertEquals(List.of(17L, 300L), java.util.Arrays.stream(read.removed()).boxed().toList());
  }

  @Test
  void readingWithoutTheKeyFailsNamingTheKeyAndItsSetting() throws Exception {
    List<Message> messages = orders(1, 100, 1024);
    QueueEvent event = event(messages, "k1");
    byte[] stored = serializer.toBinary(event);
    JournalSerializer withoutKeys = new JournalSerializer();

    SpoolException.EncryptionKeyMissing e = assertThrows(SpoolException.EncryptionKeyMissing.class,
        () -> withoutKeys.fromBinary(stored, serializer.manifest(event)));
    assertTrue(e.getMessage().contains("'k1'") && e.getMessage().contains("spool.encryption.keys.k1"),
        e.getMessage());

    QueueSnapshot snapshot = snapshot(messages, "k1");
    ByteArrayOutputStream streamed = new ByteArrayOutputStream();
    serializer.write(snapshot, streamed);
    assertThrows(SpoolException.EncryptionKeyMissing.class,
        () -> withoutKeys.read(new ByteArrayInputStream(streamed.toByteArray()), serializer.manifest(snapshot)));
    // Nor can it write for an encrypted queue: it refuses rather than store plaintext.
    assertThrows(SpoolException.EncryptionKeyMissing.class, () -> withoutKeys.toBinary(event));
  }

  @Test
  void aDamagedOrForeignEncryptedFrameIsRefused() throws Exception {
    List<Message> messages = orders(1, 100, 1024);
    QueueEvent event = event(messages, "k1");
    byte[] stored = serializer.toBinary(event);
    byte[] damaged = stored.clone();
    damaged[stored.length / 2] ^= 0x01; // inside the frame: 100 KiB of messages come first
    NotSerializableException e = assertThrows(NotSerializableException.class,
        () -> serializer.fromBinary(damaged, serializer.manifest(event)));
    assertTrue(e.getMessage().contains("authenticate"), e.getMessage());
    assertFalse(e.getMessage().contains(MARKER));

    // The same key id with other key material: the frame does not open.
    JournalSerializer otherKey = new JournalSerializer(
        KeyRing.create(ConfigFactory.parseString("spool.encryption.keys.k1 = \"" + key() + "\"")));
    assertThrows(NotSerializableException.class, () -> otherKey.fromBinary(stored, serializer.manifest(event)));

    // An event's frame is bound to its manifest: read as a snapshot it does not open (nor parse).
    assertThrows(Exception.class, () -> serializer.fromBinary(stored, JournalSerializer.QUEUE_SNAPSHOT));
  }

  @Test
  void eventsAndSnapshotsWrittenBeforeEncryptionStillRead() throws Exception {
    List<Message> messages = orders(1, 50, 1024);
    ByteArrayOutputStream event = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(event)) {
      out.writeLong(7); // writeId
      MessageFormat.writeMessages(out, messages);
      out.writeInt(0); // created
      out.writeInt(0); // deleted
      out.writeInt(0); // positions
      out.writeInt(1); // removed
      out.writeLong(3);
      out.writeLong(2); // freedBelow
    }
    QueueEvent e = (QueueEvent) serializer.fromBinary(event.toByteArray(), JournalSerializer.QUEUE_EVENT_V1);
    assertEquals(7, e.writeId());
    assertSameMessages(messages, e.messages());
    assertEquals(2, e.freedBelow());
    assertEquals(0, e.sealedThrough());
    assertNull(e.keyId());

    ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(snapshot)) {
      out.writeLong(9); // lastWriteId
      out.writeLong(50); // lastSequence
      MessageFormat.writeMessages(out, messages);
      out.writeInt(0); // consumers
      out.writeInt(0); // positions
      out.writeInt(0); // dedup
    }
    QueueSnapshot s = (QueueSnapshot) serializer.fromBinary(snapshot.toByteArray(),
        JournalSerializer.QUEUE_SNAPSHOT_V1);
    assertEquals(50, s.lastSequence());
    assertSameMessages(messages, s.messages());
    assertNull(s.keyId());
  }

  @Test
  void queueDefinitionsKeepCompressionAndEncryption() throws Exception {
    QueueSettings encrypted = QueueSettings.defaults().withDurability(Durability.PERSISTENT).withMaxBytes(10L << 30)
        .withCompression(Compression.ZSTD).withEncryption("k1");
    RegistryEvent.QueueDefined defined = new RegistryEvent.QueueDefined("orders", encrypted, "inc-1", 99L);
    RegistryEvent.QueueDefined read = (RegistryEvent.QueueDefined) serializer.fromBinary(
        serializer.toBinary(defined), serializer.manifest(defined));
    assertEquals(defined, read);
    assertEquals(Compression.ZSTD, read.settings().compression());
    assertEquals("k1", read.settings().encryptionKeyId());

    RegistryEvent.QueueDefined plain = new RegistryEvent.QueueDefined("t", QueueSettings.defaults(), "inc-2", 1L);
    RegistryEvent.Queues all = new RegistryEvent.Queues(Map.of("orders", defined, "t", plain));
    assertEquals(all.queues(), ((RegistryEvent.Queues) serializer.fromBinary(serializer.toBinary(all),
        serializer.manifest(all))).queues());
    assertEquals("RD4", serializer.manifest(defined));
    assertEquals("RQ4", serializer.manifest(all));
  }

  @Test
  void queueDefinitionsKeepPartitionsAndThoseWrittenBeforeThemHaveOne() throws Exception {
    QueueSettings partitioned = QueueSettings.defaults().withDurability(Durability.PERSISTENT).withPartitions(6);
    RegistryEvent.QueueDefined defined = new RegistryEvent.QueueDefined("orders", partitioned, "inc-1", 99L);
    // Format 3 is format 4 without the trailing maximum priority.
    byte[] v4 = serializer.toBinary(defined);
    byte[] v3 = java.util.Arrays.copyOf(v4, v4.length - 1);
    RegistryEvent.QueueDefined read = (RegistryEvent.QueueDefined) serializer.fromBinary(v3, "RD3");
    assertEquals(6, read.settings().partitions());
    assertEquals(defined, read);

    // Format 2 is format 3 without the trailing partition count.
    byte[] v2 = java.util.Arrays.copyOf(v3, v3.length - Integer.BYTES);
    RegistryEvent.QueueDefined old = (RegistryEvent.QueueDefined) serializer.fromBinary(v2,
        JournalSerializer.QUEUE_DEFINED_V2);
    assertEquals(1, old.settings().partitions());
    assertEquals(partitioned.withPartitions(1), old.settings());
  }

  @Test
  void queueDefinitionsWrittenBeforeCompressionTakeTheDefaults() throws Exception {
    ByteArrayOutputStream one = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(one)) {
      writeDefinedV1(out, "orders", "PERSISTENT");
    }
    RegistryEvent.QueueDefined d = (RegistryEvent.QueueDefined) serializer.fromBinary(one.toByteArray(),
        JournalSerializer.QUEUE_DEFINED_V1);
    assertEquals("orders", d.name());
    assertEquals(Durability.PERSISTENT, d.settings().durability());
    assertEquals(Compression.LZ4, d.settings().compression());
    assertNull(d.settings().encryption());
    assertEquals(Overflow.DROP_OLDEST, d.settings().overflow());
    assertEquals(Duration.ofMinutes(2), d.settings().dedupWindow());
    // The same settings given again are equal: re-declaring the queue after the upgrade is no conflict.
    assertEquals(QueueSettings.defaults().withDurability(Durability.PERSISTENT).withMaxLength(1000)
        .withOverflow(Overflow.DROP_OLDEST), d.settings());

    ByteArrayOutputStream all = new ByteArrayOutputStream();
    try (DataOutputStream out = new DataOutputStream(all)) {
      out.writeInt(2);
      writeDefinedV1(out, "orders", "PERSISTENT");
      writeDefinedV1(out, "jobs", "TRANSIENT");
    }
    RegistryEvent.Queues queues = (RegistryEvent.Queues) serializer.fromBinary(all.toByteArray(),
        JournalSerializer.QUEUES_V1);
    assertEquals(Compression.NONE, queues.queues().get("jobs").settings().compression());
    assertEquals(Compression.LZ4, queues.queues().get("orders").settings().compression());
  }

  private static void writeDefinedV1(DataOutputStream out, String name, String durability) throws IOException {
    MessageFormat.writeString(out, name);
    MessageFormat.writeString(out, "inc-" + name);
    out.writeLong(5);
    MessageFormat.writeString(out, durability);
    out.writeLong(1000); // maxLength
    out.writeLong(0); // maxBytes
    MessageFormat.writeString(out, "DROP_OLDEST");
    out.writeLong(-1); // ttl
    out.writeLong(0); // retention
    MessageFormat.writeString(out, null); // dead-letter queue
    out.writeInt(0);
    out.writeLong(Duration.ofMinutes(2).toNanos());
  }

  @Test
  void pekkoGivesTheSerializerTheSystemsKeys() throws Exception {
    ActorSystem system = ActorSystem.create("journal-encryption",
        ConfigFactory.parseString("spool.encryption.keys.k1 = \"" + K1 + "\"").withFallback(ConfigFactory.load()));
    try {
      QueueEvent event = event(orders(1, 20, 1024), "k1");
      Serialization serialization = SerializationExtension.get(system);
      JournalSerializer bound = (JournalSerializer) serialization.findSerializerFor(event);
      byte[] stored = bound.toBinary(event);
      assertNoPlaintext(stored);
      // Written by the system's serializer, read by one holding the same key.
      QueueEvent read = (QueueEvent) serializer.fromBinary(stored, bound.manifest(event));
      assertSameMessages(event.messages(), read.messages());
      assertSame(KeyRing.get(system), KeyRing.get(system));
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
