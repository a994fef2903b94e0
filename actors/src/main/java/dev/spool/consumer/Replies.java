package dev.spool.consumer;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * How the consumer's plain classes answer a request: through their actor, which sends every
 * message (so the classes stay testable without an actor system and the actor is the only sender).
 */
public interface Replies {
  /** Send {@code reply} to {@code to}. */
  <T> void reply(ActorRef<StatusReply<T>> to, StatusReply<T> reply);
}
