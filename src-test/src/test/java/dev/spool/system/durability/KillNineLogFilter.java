package dev.spool.system.durability;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.List;

/**
 * Keeps, of the queue journals' debug lines, only those {@link KillNine} counts (a
 * snapshot saved, events deleted) and the recovery times: the others come with every write.
 * {@code -Dkillnine.debug=true} keeps them all, to see what a journal did when.
 */
public final class KillNineLogFilter extends Filter<ILoggingEvent> {

  private static final String SNAPSHOT_SAVED = "journal {}: snapshot at sequenceNr {} saved";
  private static final String EVENTS_DELETED = "journal {}: events to sequenceNr {} deleted";
  private static final List<String> KEPT = List.of(SNAPSHOT_SAVED, EVENTS_DELETED, "Recovery for persistenceId");
  private static final boolean ALL = Boolean.getBoolean("killnine.debug");

  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (ALL || event.getLevel().isGreaterOrEqual(Level.INFO)) {
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
