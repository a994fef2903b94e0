package dev.spool;

/**
 * The reply to an idempotent create: the resource, and whether this call created it (HTTP answers
 * 201 or 200 on it).
 *
 * @param value the resource as it is now
 * @param created true if it did not exist before
 * @param <T> the resource's description
 * @since 0.1.0
 */
public record Created<T>(T value, boolean created) {}
