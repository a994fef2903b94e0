package dev.spool.storage;

/**
 * One sealed segment as stored.
 *
 * @param queueId the queue's journal id (its name and incarnation), so a queue created again under
 *     the same name never sees the old one's rows
 * @param segment the segment number: it holds sequences {@code segment * size + 1} to
 *     {@code (segment + 1) * size}
 * @param count how many messages {@link #data} holds (removed ones are left out)
 * @param index what the queue keeps in memory of each message while the data is not loaded
 *     (sequence, size, append time): never a payload or a header
 * @param codec how {@link #data} is compressed and whether it is encrypted ({@link SegmentCodec})
 * @param keyId the encryption key's id, {@code null} when the data is not encrypted
 * @param checksum CRC32C of {@link #data} as stored, so a damaged row is found before it is decoded
 * @param data the encoded messages; {@code null} in {@link SegmentStore#list} results
 */
public record SegmentRow(String queueId, long segment, int count, byte[] index, int codec, String keyId,
    long checksum, byte[] data) {

  /** This row without its data. */
  public SegmentRow withoutData() {
    return new SegmentRow(queueId, segment, count, index, codec, keyId, checksum, null);
  }
}
