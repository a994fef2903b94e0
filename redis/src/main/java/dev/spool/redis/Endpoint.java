package dev.spool.redis;

import dev.spool.Spool;
import dev.spool.http.Authenticator;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What every connection of one endpoint shares: the engine, the settings, the tokens, the consumer
 * groups' pending lists, the wake-ups of blocked readers, the streams' appenders of plain adds, and
 * the counts INFO reports.
 */
final class Endpoint {

  final Spool spool;
  final RedisSettings settings;
  final Authenticator authenticator;
  final ActorRef<ConsumerGroups.Command> groups;
  final Wakeups wakeups;
  final StreamAppenders appenders;
  final long startedAt = System.currentTimeMillis();
  final AtomicLong clientIds = new AtomicLong();
  final AtomicInteger connections = new AtomicInteger();
  final AtomicLong connectionsAccepted = new AtomicLong();
  final AtomicLong connectionsRefused = new AtomicLong();
  final AtomicLong commands = new AtomicLong();
  final AtomicLong errors = new AtomicLong();
  volatile int port;

  Endpoint(Spool spool, RedisSettings settings, Authenticator authenticator,
      ActorRef<ConsumerGroups.Command> groups, Wakeups wakeups) {
    this.spool = spool;
    this.settings = settings;
    this.authenticator = authenticator;
    this.groups = groups;
    this.wakeups = wakeups;
    this.appenders = new StreamAppenders(
        stream -> new StreamAppender(spool.createPublisher(stream, StreamCommands.PRODUCER)::publishAll));
  }
}
