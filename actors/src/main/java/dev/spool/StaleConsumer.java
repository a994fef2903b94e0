package dev.spool;

import java.time.Instant;

/**
 * A consumer with no subscriber attached and no read or acknowledgement for a while.
 *
 * @param queue its queue
 * @param consumer its name
 * @param lag messages it has not acknowledged
 * @param idleMillis how long it has been idle
 * @param lastActivity its last read, acknowledgement or delivery
 */
public record StaleConsumer(String queue, String consumer, long lag, long idleMillis, Instant lastActivity) {}
