package dev.spool.actor;

import dev.spool.ConsumerSettings;
import dev.spool.JournalHealth;
import dev.spool.SpoolException;
import dev.spool.queue.Appender;
import dev.spool.queue.GroupCommit;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * The queue actor as its write path sees it: everything {@link QueueWrites} tells it to do,
 * recorded (replies are sent, to the tests' inboxes). Consumers are named by strings.
 */
final class RecordedWrites implements QueueWrites.Outlet<String, String> {
  final List<GroupCommit.Write> writes = new ArrayList<>();
  int writesEnded;
  final List<Long> appended = new ArrayList<>();
  /** Each creation: {@code name@start [replies]}. */
  final List<String> created = new ArrayList<>();
  final List<String> notCreated = new ArrayList<>();
  final List<String> saved = new ArrayList<>();
  final List<String> resent = new ArrayList<>();
  final List<JournalHealth.Problem> changes = new ArrayList<>();

  @Override
  public void write(GroupCommit.Write write) {
    writes.add(write);
  }

  @Override
  public void writeEnded(long writeId, long startedNanos) {
    writesEnded++;
  }

  @Override
  public void appended(Appender.Prepared prepared) {
    appended.addAll(prepared.sequences());
  }

  @Override
  public <T> void reply(ActorRef<StatusReply<T>> replyTo, StatusReply<T> reply) {
    replyTo.tell(reply);
  }

  @Override
  public void created(ConsumerSettings resolved, long start, List<String> replies) {
    created.add(resolved.name() + "@" + start + " " + replies);
  }

  @Override
  public void notCreated(List<String> replies, SpoolException error) {
    replies.forEach(r -> notCreated.add(r + ": " + error.getClass().getSimpleName()));
  }

  @Override
  public void positionStored(String consumer, boolean stored, long version) {
    (stored ? saved : resent).add(stored ? consumer + "@" + version : consumer);
  }

  @Override
  public void journalChanged(JournalHealth.Problem problem) {
    changes.add(problem);
  }

  /** Freed points the journal stored, after which stored segments below them are deleted. */
  final List<Long> freedStored = new ArrayList<>();

  @Override
  public void freedStored(long freedBelow) {
    freedStored.add(freedBelow);
  }

  long lastWriteId() {
    return writes.get(writes.size() - 1).id();
  }

  /** Nothing journal-related happened: what a transient queue's writes must never do. */
  boolean touchedNoJournal() {
    return writes.isEmpty() && writesEnded == 0 && notCreated.isEmpty() && saved.isEmpty() && resent.isEmpty()
        && changes.isEmpty();
  }
}
