package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.spool.Message;
import org.junit.jupiter.api.Test;

class GroupTrackerTest {

  private static long sequence;

  private static Message member(String group, String size) {
    Message m = Message.of("order", ConsumerFixture.KIB).withHeader(GroupTracker.GROUP_ID, group);
    if (size != null) {
      m = m.withHeader(GroupTracker.GROUP_SIZE, size);
    }
    return m.appended(++sequence, 1_000, "producer");
  }

  @Test
  void aGroupCompletesWhenItsDeclaredSizeIsAcknowledged() {
    GroupTracker groups = new GroupTracker();
    assertNull(groups.memberAcked(member("g1", "3"), 10));
    assertNull(groups.memberAcked(member("g1", null), 10), "the size declared once holds for the others");
    GroupTracker.Outcome done = groups.memberAcked(member("g1", "3"), 10);
    assertEquals(new GroupTracker.Outcome(null, "g1", 3), done);
    assertEquals(0, groups.open(), "a completed group is forgotten");
  }

  @Test
  void aMalformedSizeDeclaresNothing() {
    GroupTracker groups = new GroupTracker();
    assertNull(groups.memberAcked(member("g", "three"), 10));
    assertNull(groups.memberAcked(member("g", " x"), 10));
    assertEquals(new GroupTracker.Outcome(null, "g", 3), groups.memberAcked(member("g", " 3 "), 10));
  }

  @Test
  void beyondTheLimitTheOldestGroupIsEvicted() {
    GroupTracker groups = new GroupTracker();
    assertNull(groups.memberAcked(member("a", "5"), 2));
    assertNull(groups.memberAcked(member("b", "5"), 2));
    assertNull(groups.memberAcked(member("a", "5"), 2), "a known group takes no new place");
    assertEquals(new GroupTracker.Outcome("a", null, 0), groups.memberAcked(member("c", "5"), 2));
    assertEquals(2, groups.open());
    assertEquals(new GroupTracker.Outcome("b", "d", 1), groups.memberAcked(member("d", "1"), 2),
        "evicting and completing in one step says both");
  }

  @Test
  void messagesWithoutAGroupOrWithTrackingOffChangeNothing() {
    GroupTracker groups = new GroupTracker();
    assertNull(groups.memberAcked(Message.of("order", ConsumerFixture.KIB).appended(1, 1_000, "p"), 10));
    assertNull(groups.memberAcked(member("g", "1"), 0));
    assertEquals(0, groups.open());
    groups.memberAcked(member("g", "2"), 10);
    groups.clear();
    assertNull(groups.memberAcked(member("g", "2"), 10), "after a seek the count starts over");
  }
}
