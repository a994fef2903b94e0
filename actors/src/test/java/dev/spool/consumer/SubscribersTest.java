package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Delivery;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

class SubscribersTest {

  private final Subscribers<String> subscribers = new Subscribers<>();

  @Test
  void everyTakerGetsItsOwnOwnerIdFromOneNumbering() {
    ActorRef<Delivery> actor = TestInbox.<Delivery>create().getRef();
    assertTrue(subscribers.subscribe(actor));
    assertFalse(subscribers.subscribe(actor), "subscribing twice attaches once");
    subscribers.addStream(7, TestInbox.<String>create().getRef());
    long handler = subscribers.newOwner();
    long stream = subscribers.streams().iterator().next().owner();
    long subscriber = subscribers.actors().iterator().next().owner();
    assertEquals(3, List.of(subscriber, stream, handler).stream().distinct().count());
    assertTrue(subscribers.isStream(stream));
    assertFalse(subscribers.isStream(subscriber));
    assertTrue(subscriber != Subscribers.PULL_OWNER && stream != Subscribers.PULL_OWNER);
    assertEquals(2, subscribers.attached());
    assertEquals(stream, subscribers.closeStream(7));
    assertEquals(-1, subscribers.closeStream(7), "closed once");
    assertEquals(subscriber, subscribers.unsubscribe(actor));
    assertEquals(-1, subscribers.unsubscribe(actor));
    assertFalse(subscribers.anyAttached());
  }

  @Test
  void aStreamTakesOneBatchPerDemand() {
    subscribers.addStream(1, TestInbox.<String>create().getRef());
    Subscribers.StreamSubscriber<String> stream = subscribers.streams().iterator().next();
    assertTrue(stream.demand(), "the first batch goes unasked");
    stream.served();
    assertFalse(stream.demand());
    assertTrue(subscribers.demand(1));
    assertTrue(stream.demand());
    assertFalse(subscribers.demand(2), "no such stream");
  }

  @Test
  void theTurnStaysWithTheSameSubscriberWhenAnotherLeaves() {
    for (long id = 1; id <= 3; id++) {
      subscribers.addStream(id, TestInbox.<String>create().getRef());
    }
    subscribers.streamServed(0);
    long next = subscribers.streamTurns().get(subscribers.streamTurn()).owner();
    subscribers.closeStream(1); // before the turn: the turn's index moves down with it
    assertEquals(next, subscribers.streamTurns().get(subscribers.streamTurn()).owner());
    subscribers.streamServed(1); // the last one's: the turn wraps round to the first
    assertEquals(0, subscribers.streamTurn());
    long last = subscribers.streamTurns().get(1).owner();
    subscribers.streamServed(0);
    subscribers.closeStream(3); // the one whose turn it was: the turn wraps to the first
    assertEquals(0, subscribers.streamTurn());
    assertEquals(1, subscribers.streamTurns().size());
    assertFalse(subscribers.isStream(last));

    ActorRef<Delivery> a = TestInbox.<Delivery>create().getRef();
    ActorRef<Delivery> b = TestInbox.<Delivery>create().getRef();
    subscribers.subscribe(a);
    subscribers.subscribe(b);
    subscribers.actorServed(0);
    assertEquals(1, subscribers.actorTurn());
    subscribers.unsubscribe(b); // the one whose turn it was, and the last: back to the first
    assertEquals(0, subscribers.actorTurn());
    assertSame(a, subscribers.actorTurns().get(0).ref());
  }

  @Test
  void parkedReadsAreAnsweredInOrderAndBounded() {
    ActorRef<StatusReply<List<Delivery>>> reply = TestInbox.<StatusReply<List<Delivery>>>create().getRef();
    Subscribers.ParkedRead first = subscribers.park(10, reply);
    Subscribers.ParkedRead second = subscribers.park(5, reply);
    assertTrue(subscribers.parkingFull(2));
    assertFalse(subscribers.parkingFull(3));
    assertSame(first, subscribers.firstParked());
    assertSame(second, subscribers.unpark(second.id()), "its wait ended");
    assertNull(subscribers.unpark(second.id()), "answered once");
    assertEquals(List.of(first), subscribers.unparkAll());
    assertEquals(0, subscribers.parkedReads());
    assertTrue(subscribers.unparkAll().isEmpty());
  }

  @Test
  void creditHeldInAckModeNoneIsReturnedByAcksAndDroppedWithItsHolder() {
    ActorRef<Delivery> a = TestInbox.<Delivery>create().getRef();
    ActorRef<Delivery> b = TestInbox.<Delivery>create().getRef();
    subscribers.subscribe(a);
    subscribers.subscribe(b);
    Subscribers.ActorSubscriber[] both = subscribers.actors().toArray(new Subscribers.ActorSubscriber[0]);
    for (long sequence = 1; sequence <= 6; sequence++) {
      subscribers.holdCredit(sequence, both[(int) (sequence % 2)]);
    }
    subscribers.returnCredit(1);
    subscribers.returnCredit(1);
    assertEquals(5, subscribers.creditHeld());
    subscribers.returnCreditUpTo(3);
    assertEquals(3, subscribers.creditHeld(), "4, 5 and 6 are still held");
    subscribers.unsubscribe(a); // held the even ones
    assertEquals(1, subscribers.creditHeld(), "what a leaver held is no longer counted");
    subscribers.clearCredit();
    assertEquals(0, subscribers.creditHeld());
  }
}
