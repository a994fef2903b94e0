package dev.spool.durable;

/**
 * What Spool writes to a Pekko persistence journal or snapshot store. Bound to
 * {@link JournalSerializer} in {@code reference.conf}, so that no Java serialization is ever used.
 */
public interface Journaled {}
