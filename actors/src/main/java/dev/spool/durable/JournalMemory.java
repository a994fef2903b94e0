package dev.spool.durable;

/**
 * What a durable queue's journal tells the engine's memory accounting: the heap that a snapshot
 * being written holds beyond the retained messages themselves counts toward the global memory
 * threshold while it is held, so that publishes are refused before the heap runs out rather than
 * after. (A write's serialized form is reserved by its queue, with the publishes it carries.)
 *
 * <p>Called from the journal actors of every durable queue at once; implementations are thread-safe.
 */
public interface JournalMemory {

  /**
   * Counts {@code bytes} for a snapshot about to be written, if the heap has room for them beyond
   * what the memory threshold still lets messages take.
   *
   * @return false, with nothing counted, if they do not fit now
   */
  boolean holdIfFits(long bytes);

  /** Gives back what {@link #holdIfFits} counted. */
  void releaseHeld(long bytes);

  /** No accounting: for journals outside an engine, such as tests of the journal alone. */
  JournalMemory NONE = new JournalMemory() {
    @Override
    public boolean holdIfFits(long bytes) {
      return true;
    }

    @Override
    public void releaseHeld(long bytes) {}
  };
}
