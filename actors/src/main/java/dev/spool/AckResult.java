package dev.spool;

import java.util.List;

/**
 * What an acknowledgement did. Acking is idempotent: sequences already acknowledged or never
 * delivered are reported here, never an error.
 *
 * @param acked how many sequences were newly acknowledged
 * @param alreadyAcked sequences that were delivered and already settled
 * @param unknown sequences this consumer never delivered
 * @since 0.1.0
 */
public record AckResult(int acked, List<Long> alreadyAcked, List<Long> unknown) {}
