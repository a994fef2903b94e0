package dev.spool.storage;

import dev.spool.Message;
import java.util.List;

/** Encodes segments (stand-in until the real codec lands). */
public final class SegmentCodec {
  public SegmentCodec(KeyRing keys) {}
  public record Encoded(int codec, String keyId, long checksum, byte[] data) {}

  public Encoded encode(String queueId, long segment, List<Message> messages, Compression compression, String keyId) {
    throw new UnsupportedOperationException();
  }

  public List<Message> decode(SegmentRow row) {
    throw new UnsupportedOperationException();
  }
}
