package dev.spool.storage;

import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;

/** Stand-in until the store implementations land. */
public final class SegmentStores {
  public static SegmentStores get(ActorSystem<?> system) {
    return new SegmentStores();
  }

  public Optional<SegmentStore> store() {
    return Optional.empty();
  }
}
