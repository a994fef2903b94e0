package dev.spool.storage;

import dev.spool.Message;
import dev.spool.durable.JournalSerializer;
import dev.spool.durable.QueueEvent;
import java.util.List;
import java.util.Map;

/** Encodes segments (stand-in until the real codec lands). */
public final class SegmentCodec {
  public record Encoded(int codec, String keyId, long checksum, byte[] data) {}

  private final JournalSerializer serializer = new JournalSerializer();

  public SegmentCodec(KeyRing keys) {}

  public Encoded encode(String queueId, long segment, List<Message> messages, Compression compression, String keyId) {
    byte[] data = serializer.toBinary(new QueueEvent(0, messages, List.of(), List.of(), Map.of(), new long[0], 0));
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(data);
    return new Encoded(0, null, crc.getValue(), data);
  }

  public List<Message> decode(SegmentRow row) {
    try {
      return ((QueueEvent) serializer.fromBinary(row.data(), serializer.manifest(
          new QueueEvent(0, List.of(), List.of(), List.of(), Map.of(), new long[0], 0)))).messages();
    } catch (java.io.NotSerializableException e) {
      throw new IllegalStateException(e);
    }
  }
}
