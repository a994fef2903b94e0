package dev.spool;

import java.util.List;

/**
 * What a {@link MessageQuery} found, and where to go on.
 *
 * @param messages the matching messages, in ascending sequence order
 * @param firstSequence the queue's lowest retained sequence now ({@code lastSequence + 1} when it retains none)
 * @param lastSequence the queue's highest sequence now
 * @param scannedFrom the lowest sequence this query looked at
 * @param scannedTo the highest sequence this query looked at ({@code scannedFrom - 1} when it looked at none)
 * @param complete whether the scan reached the end of the log in its direction
 * @param next where a forward query goes on after this page, {@code null} at the log's end
 * @param previous where a backward query goes on before this page, {@code null} at the log's start
 * @since 0.1.0
 */
public record MessagePage(List<Message> messages, long firstSequence, long lastSequence, long scannedFrom,
    long scannedTo, boolean complete, Long next, Long previous) {

  /** Keeps copies of the collections: the record never changes. */
  public MessagePage {
    messages = List.copyOf(messages);
  }
}
