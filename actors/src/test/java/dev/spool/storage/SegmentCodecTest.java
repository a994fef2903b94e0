package dev.spool.storage;

import static dev.spool.storage.TestMessages.MARKER;
import static dev.spool.storage.TestMessages.assertSameMessages;
import static dev.spool.storage.TestMessages.orders;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.Compression;
import dev.spool.Message;
import dev.spool.SpoolException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

/** Sealed segments' bytes: every message reads back equal, and nothing damaged or misplaced is ever decoded. */
class SegmentCodecTest {

  private static final String QUEUE = "orders-3f1c";
  private static final String K1 = randomKey();
  private static final String K2 = randomKey();

  private static final KeyRing RING = ring("k1 = \"" + K1 + "\"");
  private final SegmentCodec codec = new SegmentCodec(RING);

  static String randomKey() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  static KeyRing ring(String keys) {
    return KeyRing.create(ConfigFactory.parseString("spool.encryption.keys { " + keys + " }"));
  }

  private static SegmentRow row(long segment, List<Message> messages, SegmentCodec.Encoded encoded) {
    return encoded.toRow(QUEUE, segment, messages.size(), new byte[0]);
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void everyMessageReadsBackEqualWithAndWithoutEncryption(Compression compression) {
    for (int payload : new int[] {1024, 64 * 1024}) {
      int count = payload == 1024 ? 2000 : 64;
      List<Message> messages = orders(7 * 4096 + 1, count, payload);
      for (String keyId : new String[] {null, "k1"}) {
        SegmentCodec.Encoded encoded = codec.encode(QUEUE, 7, messages, compression, keyId);
        assertEquals(keyId, encoded.keyId());
        assertSameMessages(messages, codec.decode(row(7, messages, encoded)));
        // Compression is no cover (LZ4 keeps literals): encryption hides the marker, which the scan finds in the clear.
        if (keyId != null || compression == Compression.NONE) {
          assertEquals(keyId == null, TestMessages.contains(encoded.data(), MARKER), compression + " " + keyId);
        }
      }
    }
  }

  @Test
  void deliveryTimesAndPrioritiesReadBackAndSegmentsOfTheFirstFormatStillRead() {
    List<Message> plain = orders(1, 10, 1024);
    List<Message> scheduled = new java.util.ArrayList<>();
    Message previous = null;
    for (int i = 0; i < 10; i++) {
      Message m = Message.of("t", new byte[1024]).withPriority(i % 10);
      if (i % 3 == 0) {
        m = m.withDelay(java.time.Duration.ofSeconds(i + 1));
      }
      previous = m.appended(i + 1, 1_700_000_000_000L, "p", 42L, previous);
      scheduled.add(previous);
    }
    for (String keyId : new String[] {null, "k1"}) {
      List<Message> read = codec.decode(row(0, scheduled, codec.encode(QUEUE, 0, scheduled, Compression.LZ4, keyId)));
      for (int i = 0; i < 10; i++) {
        assertEquals(i % 10, read.get(i).priority());
        assertEquals(i % 3 == 0 ? 1_700_000_000_000L + (i + 1) * 1000L : 0, read.get(i).deliverAtMillis());
      }
    }
    // A segment sealed before (codec version 1) holds no such fields: the same bytes read under its codec.
    SegmentCodec.Encoded encoded = codec.encode(QUEUE, 0, plain, Compression.LZ4, null);
    int v1 = (SegmentCodec.VERSION_1 << 16) | (encoded.codec() & 0xffff);
    SegmentRow old = new SegmentRow(QUEUE, 0, plain.size(), new byte[0], v1, null, encoded.checksum(), encoded.data());
    assertSameMessages(plain, codec.decode(old));
  }

  @Test
  void anEmptySegmentReadsBackEmpty() {
    SegmentCodec.Encoded encoded = codec.encode(QUEUE, 0, List.of(), Compression.LZ4, "k1");
    assertEquals(List.of(), codec.decode(encoded.toRow(QUEUE, 0, 0, new byte[0])));
  }

  @Test
  void repetitiveJsonCompressesAtLeastThreeTimesWithLz4() {
    List<Message> messages = orders(1, 4000, 1024);
    long raw = codec.encode(QUEUE, 0, messages, Compression.NONE, null).data().length;
    long lz4 = codec.encode(QUEUE, 0, messages, Compression.LZ4, null).data().length;
    long zstd = codec.encode(QUEUE, 0, messages, Compression.ZSTD, null).data().length;
    long lz4Encrypted = codec.encode(QUEUE, 0, messages, Compression.LZ4, "k1").data().length;
    System.out.printf("segment of 4000 x 1 KiB JSON messages: %d bytes; lz4 %.2fx (%d), zstd %.2fx (%d), "
        + "lz4+AES-GCM %.2fx (%d)%n", raw, (double) raw / lz4, lz4, (double) raw / zstd, zstd,
        (double) raw / lz4Encrypted, lz4Encrypted);
    assertTrue(raw >= lz4 * 3, "lz4 compressed " + raw + " bytes to " + lz4);
    assertTrue(lz4 > zstd, "zstd should beat lz4 on ratio");
    assertEquals(lz4 + GcmCipher.OVERHEAD, lz4Encrypted);
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void aChecksumMismatchIsSegmentCorrupt(Compression compression) {
    List<Message> messages = orders(1, 100, 1024);
    SegmentCodec.Encoded encoded = codec.encode(QUEUE, 0, messages, compression, null);
    byte[] damaged = encoded.data().clone();
    damaged[damaged.length / 2] ^= 0x10;
    SegmentRow row = new SegmentRow(QUEUE, 0, messages.size(), new byte[0], encoded.codec(), null,
        encoded.checksum(), damaged);
    SpoolException.SegmentCorrupt e = assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(row));
    assertEquals(SpoolException.Code.SegmentCorrupt, e.code());
    assertTrue(e.getMessage().contains(QUEUE) && e.getMessage().contains("segment 0"), e.getMessage());
    assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    assertFalse(e.getMessage().contains(MARKER));
  }

  @Test
  void aFlippedBitInEncryptedDataFailsItsTagEvenUnderAValidChecksum() {
    List<Message> messages = orders(1, 100, 1024);
    SegmentCodec.Encoded encoded = codec.encode(QUEUE, 3, messages, Compression.LZ4, "k1");
    for (int at : new int[] {0, 5, GcmCipher.SALT_BYTES + 1, encoded.data().length / 2, encoded.data().length - 1}) {
      byte[] damaged = encoded.data().clone();
      damaged[at] ^= 0x01;
      SegmentRow row = new SegmentRow(QUEUE, 3, messages.size(), new byte[0], encoded.codec(), "k1",
          crc(damaged), damaged);
      SpoolException.SegmentCorrupt e = assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(row),
          "bit flipped at " + at);
      assertTrue(e.getMessage().contains("authenticate"), e.getMessage());
    }
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void aRowMovedToAnotherSegmentOrQueueIsSegmentCorrupt(Compression compression) {
    List<Message> messages = orders(1, 100, 1024);
    for (String keyId : new String[] {null, "k1"}) {
      SegmentCodec.Encoded encoded = codec.encode(QUEUE, 4, messages, compression, keyId);
      SegmentRow moved = new SegmentRow(QUEUE, 5, messages.size(), new byte[0], encoded.codec(), keyId,
          encoded.checksum(), encoded.data());
      assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(moved), compression + " " + keyId);
      SegmentRow otherQueue = new SegmentRow("payments-9a0b", 4, messages.size(), new byte[0], encoded.codec(),
          keyId, encoded.checksum(), encoded.data());
      assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(otherQueue), compression + " " + keyId);
    }
  }

  @ParameterizedTest
  @EnumSource(Compression.class)
  void aTruncatedRowIsSegmentCorrupt(Compression compression) {
    List<Message> messages = orders(1, 100, 1024);
    SegmentCodec.Encoded encoded = codec.encode(QUEUE, 0, messages, compression, null);
    for (int length : new int[] {0, 3, 100, encoded.data().length - 1}) {
      byte[] cut = Arrays.copyOf(encoded.data(), length);
      SegmentRow row = new SegmentRow(QUEUE, 0, messages.size(), new byte[0], encoded.codec(), null, crc(cut), cut);
      assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(row), compression + " cut to " + length);
    }
  }

  @Test
  void anUnknownCodecOrAMismatchedKeyIdIsSegmentCorrupt() {
    List<Message> messages = orders(1, 10, 1024);
    SegmentCodec.Encoded encoded = codec.encode(QUEUE, 0, messages, Compression.LZ4, null);
    for (int unknown : new int[] {encoded.codec() + 7, (3 << 16) | 1, encoded.codec() | 0x200, 0}) {
      SegmentRow row = new SegmentRow(QUEUE, 0, messages.size(), new byte[0], unknown, null, encoded.checksum(),
          encoded.data());
      SpoolException.SegmentCorrupt e = assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(row));
      assertTrue(e.getMessage().contains("codec"), e.getMessage());
    }
    SegmentRow claimsKey = new SegmentRow(QUEUE, 0, messages.size(), new byte[0], encoded.codec(), "k1",
        encoded.checksum(), encoded.data());
    assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(claimsKey));
    SegmentRow wrongCount = new SegmentRow(QUEUE, 0, messages.size() + 1, new byte[0], encoded.codec(), null,
        encoded.checksum(), encoded.data());
    assertThrows(SpoolException.SegmentCorrupt.class, () -> codec.decode(wrongCount));
  }

  @Test
  void aMissingKeyIsEncryptionKeyMissingNamingItsSetting() {
    List<Message> messages = orders(1, 50, 1024);
    SegmentRow row = row(0, messages, codec.encode(QUEUE, 0, messages, Compression.ZSTD, "k1"));
    SegmentCodec withoutK1 = new SegmentCodec(ring("k2 = \"" + K2 + "\""));
    SpoolException.EncryptionKeyMissing e = assertThrows(SpoolException.EncryptionKeyMissing.class,
        () -> withoutK1.decode(row));
    assertEquals(SpoolException.Code.EncryptionKeyMissing, e.code());
    assertEquals("k1", e.keyId());
    assertTrue(e.getMessage().contains("spool.encryption.keys.k1"), e.getMessage());
    assertThrows(SpoolException.EncryptionKeyMissing.class,
        () -> withoutK1.encode(QUEUE, 1, messages, Compression.LZ4, "k1"));
  }

  @Test
  void aDifferentKeyUnderTheSameIdIsSegmentCorrupt() {
    List<Message> messages = orders(1, 50, 1024);
    SegmentRow row = row(0, messages, codec.encode(QUEUE, 0, messages, Compression.LZ4, "k1"));
    SegmentCodec replaced = new SegmentCodec(ring("k1 = \"" + K2 + "\""));
    assertThrows(SpoolException.SegmentCorrupt.class, () -> replaced.decode(row));
  }

  @Test
  void afterRotationOldSegmentsStillDecodeWhileNewOnesUseTheNewKey() {
    List<Message> old = orders(1, 500, 1024);
    SegmentRow oldRow = row(0, old, codec.encode(QUEUE, 0, old, Compression.LZ4, "k1"));

    SegmentCodec rotated = new SegmentCodec(ring("k1 = \"" + K1 + "\"\nk2 = \"" + K2 + "\""));
    List<Message> fresh = orders(4097, 500, 1024);
    SegmentRow freshRow = row(1, fresh, rotated.encode(QUEUE, 1, fresh, Compression.LZ4, "k2"));

    assertEquals("k2", freshRow.keyId());
    assertSameMessages(old, rotated.decode(oldRow));
    assertSameMessages(fresh, rotated.decode(freshRow));
    // k2's segments need k2: the ring before rotation cannot read them.
    assertThrows(SpoolException.EncryptionKeyMissing.class, () -> codec.decode(freshRow));
  }

  @Test
  void twoEncodingsOfTheSameSegmentUseDifferentSaltsNoncesAndCiphertexts() {
    List<Message> messages = orders(1, 10, 1024);
    byte[] a = codec.encode(QUEUE, 0, messages, Compression.NONE, "k1").data();
    byte[] b = codec.encode(QUEUE, 0, messages, Compression.NONE, "k1").data();
    int header = GcmCipher.SALT_BYTES + GcmCipher.NONCE_BYTES;
    assertNotEquals(Arrays.toString(Arrays.copyOf(a, header)), Arrays.toString(Arrays.copyOf(b, header)));
    assertNotEquals(Arrays.toString(a), Arrays.toString(b));
  }

  @Test
  void decodingIsThreadSafe() throws Exception {
    List<Message> messages = orders(1, 200, 1024);
    SegmentRow lz4 = row(0, messages, codec.encode(QUEUE, 0, messages, Compression.LZ4, "k1"));
    SegmentRow zstd = row(0, messages, codec.encode(QUEUE, 0, messages, Compression.ZSTD, null));
    Random random = new Random(1);
    List<Thread> threads = new java.util.ArrayList<>();
    java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
    for (int t = 0; t < 4; t++) {
      SegmentRow row = random.nextBoolean() ? lz4 : zstd;
      Thread thread = new Thread(() -> {
        try {
          for (int i = 0; i < 20; i++) {
            assertSameMessages(messages, codec.decode(row));
            codec.encode(QUEUE, i, messages, Compression.ZSTD, "k1");
          }
        } catch (Throwable e) {
          failure.set(e);
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    if (failure.get() != null) {
      throw new AssertionError(failure.get());
    }
  }

  private static long crc(byte[] data) {
    CRC32C crc = new CRC32C();
    crc.update(data);
    return crc.getValue();
  }
}
