package dev.spool.actor;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * A command that expects a reply, so that whoever routes it (the manager, a queue) can answer it
 * with an error when its target does not exist.
 *
 * @param <T> the reply's value
 */
public interface Request<T> {

  /** Where the reply goes. */
  ActorRef<StatusReply<T>> replyTo();

  /** {@code List.class} typed for an {@code askWithStatus} whose reply is a list of {@code T}. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static <T> Class<java.util.List<T>> listClass() {
    return (Class) java.util.List.class;
  }

  /** {@code Created.class} typed for an {@code askWithStatus} whose reply is a {@code Created<T>}. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static <T> Class<dev.spool.Created<T>> createdClass() {
    return (Class) dev.spool.Created.class;
  }

  /** {@code StatusReply.class} typed, for a message adapter of replies carrying a {@code T}. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static <T> Class<StatusReply<T>> statusClass() {
    return (Class) StatusReply.class;
  }

  /** Answers {@code request} with {@code error}. */
  static <T> void fail(Request<T> request, Throwable error) {
    request.replyTo().tell(StatusReply.error(error));
  }
}
