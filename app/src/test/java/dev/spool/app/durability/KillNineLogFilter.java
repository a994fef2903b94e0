package dev.spool.app.durability;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.List;

/**
 * Keeps, of the event-sourced journals' debug lines, only those {@link KillNine} counts (a
 * snapshot saved, events deleted) and the recovery times: the others come with every write.
 */
public final class KillNineLogFilter extends Filter<ILoggingEvent> {

  static final String SNAPSHOT_SAVED = "Persistent snapshot [{}] saved successfully";
  static final String EVENTS_DELETED = "Persistent events to sequenceNr [{}] deleted successfully.";
  private static final List<String> KEPT = List.of(SNAPSHOT_SAVED, EVENTS_DELETED, "Recovery for persistenceId");

  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (event.getLevel().isGreaterOrEqual(Level.INFO)) {
      return FilterReply.NEUTRAL;
    }
    String format = event.getMessage();
    for (String kept : KEPT) {
      if (format != null && format.startsWith(kept)) {
        return FilterReply.NEUTRAL;
      }
    }
    return FilterReply.DENY;
  }
}
