package dev.spool.storage;

import com.github.luben.zstd.Zstd;
import dev.spool.Compression;
import dev.spool.Message;
import dev.spool.SpoolException;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;
import javax.crypto.AEADBadTagException;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * The bytes of a sealed segment: its messages in {@link MessageFormat}, compressed, encrypted when
 * the queue has a key, and checksummed. Decoding checks every step (checksum, format, tag, length)
 * and fails with {@link SpoolException.SegmentCorrupt} rather than return damaged messages.
 *
 * <p>Stored form of {@link SegmentRow#data}: the serialized segment is its number and queue id
 * (so a row moved to another position is found, encrypted or not) and then its messages; for
 * {@link Compression#NONE} that as it is;
 * otherwise their length (4 bytes) and the compressed bytes; when encrypted, that again as
 * {@link GcmCipher} seals it (salt, nonce, ciphertext, tag), with associated data binding the queue id,
 * segment number, codec and key id, so a row copied to another queue or position fails to open.
 * {@link SegmentRow#codec} says which: bits 0–7 the compression, bit 8 encrypted, bits 16–23 the
 * format version.
 *
 * <p>Thread-safe and blocking (it compresses and encrypts whole segments): it runs on the segment
 * store's threads, never on an actor's.
 */
public final class SegmentCodec {

  /** The format written: 2 lets messages carry a delivery time and a priority ({@link MessageFormat}). */
  static final int VERSION = 2;
  /** The format before delivery times and priorities: still read, never written. */
  static final int VERSION_1 = 1;
  private static final int ENCRYPTED = 0x100;
  private static final int COMPRESSION_MASK = 0xff;
  /** Zstandard's default level: most of its ratio at a speed that keeps up with sealing. */
  private static final int ZSTD_LEVEL = 3;
  private static final byte[] AAD_PREFIX = "spool-segment".getBytes(StandardCharsets.US_ASCII);

  private static final LZ4Compressor LZ4_COMPRESSOR = LZ4Factory.fastestInstance().fastCompressor();
  private static final LZ4SafeDecompressor LZ4_DECOMPRESSOR = LZ4Factory.fastestInstance().safeDecompressor();

  private final KeyRing keys;

  public SegmentCodec(KeyRing keys) {
    this.keys = keys;
  }

  /**
   * A segment as encoded.
   *
   * @param codec the format version, compression and whether it is encrypted
   * @param keyId the key it is encrypted with, {@code null} if it is not
   * @param checksum CRC32C of {@link #data}
   * @param data the stored bytes
   */
  public record Encoded(int codec, String keyId, long checksum, byte[] data) {

    /** The row of segment {@code segment} of {@code queueId} holding this. */
    public SegmentRow toRow(String queueId, long segment, int count, byte[] index) {
      return new SegmentRow(queueId, segment, count, index, codec, keyId, checksum, data);
    }
  }

  /**
   * {@code messages} encoded for segment {@code segment} of {@code queueId}.
   *
   * @param keyId the queue's encryption key id, {@code null} for none
   * @throws SpoolException.EncryptionKeyMissing if {@code keyId} is not configured
   */
  public Encoded encode(String queueId, long segment, List<Message> messages, Compression compression,
      String keyId) {
    int codec = (VERSION << 16) | compressionId(compression) | (keyId != null ? ENCRYPTED : 0);
    byte[] serialized = serialize(queueId, segment, messages);
    byte[] stored = switch (compression) {
      case NONE -> serialized;
      case LZ4 -> lz4(serialized);
      case ZSTD -> zstd(serialized);
    };
    if (keyId != null) {
      stored = GcmCipher.encrypt(keys.key(keyId), aad(queueId, segment, codec, keyId), stored, 0, stored.length);
    }
    return new Encoded(codec, keyId, checksum(stored), stored);
  }

  /**
   * The messages of {@code row}, exactly as encoded.
   *
   * @throws SpoolException.SegmentCorrupt if the row's bytes are not what was encoded for it
   * @throws SpoolException.EncryptionKeyMissing if its key is not configured
   */
  public List<Message> decode(SegmentRow row) {
    byte[] data = row.data();
    if (data == null) {
      throw corrupt(row, "the row holds no data");
    }
    if (checksum(data) != row.checksum()) {
      throw corrupt(row, "checksum mismatch");
    }
    int codec = row.codec();
    if ((codec >>> 16) != VERSION && (codec >>> 16) != VERSION_1 || (codec & ~(0xff_0000 | ENCRYPTED | COMPRESSION_MASK)) != 0
        || (codec & COMPRESSION_MASK) >= Compression.values().length) {
      throw corrupt(row, "unknown codec 0x" + Integer.toHexString(codec));
    }
    boolean encrypted = (codec & ENCRYPTED) != 0;
    if (encrypted != (row.keyId() != null)) {
      throw corrupt(row, encrypted ? "encrypted, without a key id" : "a key id on a segment not encrypted");
    }
    byte[] plain = data;
    if (encrypted) {
      try {
        plain = GcmCipher.decrypt(keys.key(row.keyId()), aad(row.queueId(), row.segment(), codec, row.keyId()),
            data, 0, data.length);
      } catch (AEADBadTagException e) {
        throw corrupt(row, "it does not authenticate under key '" + row.keyId()
            + "' (damaged, moved from another queue or segment, or a different key under that id)");
      }
    }
    byte[] serialized = switch (Compression.values()[codec & COMPRESSION_MASK]) {
      case NONE -> plain;
      case LZ4 -> unlz4(row, plain);
      case ZSTD -> unzstd(row, plain);
    };
    List<Message> messages;
    ByteInput in = new ByteInput(serialized);
    try {
      DataInputStream fields = new DataInputStream(in);
      long segment = fields.readLong();
      String queueId = MessageFormat.readString(fields);
      if (segment != row.segment() || !row.queueId().equals(queueId)) {
        throw corrupt(row, "it was written as segment " + segment + (row.queueId().equals(queueId) ? ""
            : " of another queue"));
      }
      messages = MessageFormat.readMessages(fields, new ArrayList<>(Math.max(0, Math.min(row.count(), 1 << 20))));
    } catch (SpoolException.SegmentCorrupt e) {
      throw e;
    } catch (EOFException e) {
      throw corrupt(row, "truncated");
    } catch (IOException | RuntimeException e) {
      throw corrupt(row, "malformed messages (" + e.getClass().getSimpleName() + ")");
    }
    if (in.remaining() != 0) {
      throw corrupt(row, in.remaining() + " bytes after the messages");
    }
    if (messages.size() != row.count()) {
      throw corrupt(row, "it holds " + messages.size() + " messages, the row says " + row.count());
    }
    return messages;
  }

  private static int compressionId(Compression compression) {
    return compression.ordinal(); // stored: constants are only ever appended
  }

  private static byte[] serialize(String queueId, long segment, List<Message> messages) {
    long estimate = 64 + queueId.length() * 3L;
    for (Message m : messages) {
      estimate += m.payload().length + 64;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream((int) Math.min(estimate, Integer.MAX_VALUE - 8));
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeLong(segment);
      MessageFormat.writeString(out, queueId);
      MessageFormat.writeMessages(out, messages);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // an array does not fail
    }
    return bytes.toByteArray();
  }

  private static byte[] lz4(byte[] raw) {
    byte[] out = new byte[4 + LZ4_COMPRESSOR.maxCompressedLength(raw.length)];
    writeInt(out, raw.length);
    int length = LZ4_COMPRESSOR.compress(raw, 0, raw.length, out, 4, out.length - 4);
    return java.util.Arrays.copyOf(out, 4 + length);
  }

  private static byte[] zstd(byte[] raw) {
    byte[] out = new byte[4 + (int) Zstd.compressBound(raw.length)];
    writeInt(out, raw.length);
    long length = Zstd.compressByteArray(out, 4, out.length - 4, raw, 0, raw.length, ZSTD_LEVEL);
    if (Zstd.isError(length)) {
      throw new IllegalStateException("zstd compression failed: " + Zstd.getErrorName(length));
    }
    return java.util.Arrays.copyOf(out, 4 + (int) length);
  }

  private static byte[] unlz4(SegmentRow row, byte[] stored) {
    byte[] raw = new byte[rawLength(row, stored)];
    try {
      int length = LZ4_DECOMPRESSOR.decompress(stored, 4, stored.length - 4, raw, 0);
      if (length != raw.length) {
        throw corrupt(row, "LZ4 data of " + length + " bytes, " + raw.length + " expected");
      }
    } catch (net.jpountz.lz4.LZ4Exception e) {
      throw corrupt(row, "malformed LZ4 data");
    }
    return raw;
  }

  private static byte[] unzstd(SegmentRow row, byte[] stored) {
    byte[] raw = new byte[rawLength(row, stored)];
    long length;
    try {
      length = Zstd.decompressByteArray(raw, 0, raw.length, stored, 4, stored.length - 4);
    } catch (RuntimeException e) {
      throw corrupt(row, "malformed zstd data");
    }
    if (Zstd.isError(length) || length != raw.length) {
      throw corrupt(row, "malformed zstd data");
    }
    return raw;
  }

  private static int rawLength(SegmentRow row, byte[] stored) {
    if (stored.length < 4) {
      throw corrupt(row, "truncated");
    }
    int length = ((stored[0] & 0xff) << 24) | ((stored[1] & 0xff) << 16) | ((stored[2] & 0xff) << 8)
        | (stored[3] & 0xff);
    if (length < 0 || length > Integer.MAX_VALUE - 8) {
      throw corrupt(row, "an uncompressed length of " + length);
    }
    return length;
  }

  private static void writeInt(byte[] to, int value) {
    to[0] = (byte) (value >>> 24);
    to[1] = (byte) (value >>> 16);
    to[2] = (byte) (value >>> 8);
    to[3] = (byte) value;
  }

  private static byte[] aad(String queueId, long segment, int codec, String keyId) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.write(AAD_PREFIX);
      MessageFormat.writeString(out, queueId);
      out.writeLong(segment);
      out.writeInt(codec);
      MessageFormat.writeString(out, keyId);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static long checksum(byte[] data) {
    CRC32C crc = new CRC32C();
    crc.update(data, 0, data.length);
    return crc.getValue();
  }

  private static SpoolException.SegmentCorrupt corrupt(SegmentRow row, String problem) {
    return new SpoolException.SegmentCorrupt(row.queueId(), row.segment(), problem);
  }
}
