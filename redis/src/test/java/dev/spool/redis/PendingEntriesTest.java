package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The pending entries list on its own: ownership, idle times, counts, claims and their limits. */
class PendingEntriesTest {

  @Test
  void deliveriesBelongToTheirReaderUntilAcknowledgedOrClaimed() {
    PendingEntries p = new PendingEntries();
    p.delivered("a", List.of(1L, 2L, 3L), List.of(1, 1, 1), 1_000);
    p.delivered("b", List.of(4L), List.of(1), 1_100);
    assertThat(p.summary().perConsumer()).containsEntry("a", 3).containsEntry("b", 1);
    assertThat(p.acknowledge(List.of(2L, 2L, 9L))).isEqualTo(1);
    assertThat(p.range(0, Long.MAX_VALUE, 10, "a", 0, 1_500)).extracting(PendingEntries.Pending::sequence)
        .containsExactly(1L, 3L);
    // Idle filter: only entries delivered at least 450 ms before now.
    assertThat(p.range(0, Long.MAX_VALUE, 10, null, 450, 1_500)).extracting(PendingEntries.Pending::sequence)
        .containsExactly(1L, 3L);
    PendingEntries.Claimed c = p.claim("b", List.of(1L, 3L, 7L), 400, 1_500, -1, -1, java.util.Set.of(), false, 0);
    assertThat(c.claimed()).extracting(PendingEntries.Pending::sequence).containsExactly(1L, 3L);
    assertThat(c.claimed()).extracting(PendingEntries.Pending::deliveries).containsExactly(2L, 2L);
    assertThat(p.summary().perConsumer()).containsEntry("b", 3).doesNotContainKey("a");
    // Redelivered by Spool after its deadline: moves to the new reader, one more delivery.
    p.delivered("c", List.of(4L), List.of(2), 1_600);
    assertThat(p.range(4, 4, 1, null, 0, 1_600).get(0)).isEqualTo(new PendingEntries.Pending(4, "c", 0, 2));
  }

  @Test
  void aClaimBeyondMaxDeliveriesGivesTheEntryUpInsteadOfMovingIt() {
    PendingEntries p = new PendingEntries();
    p.delivered("a", List.of(1L, 2L), List.of(1, 1), 0);
    p.claim("b", List.of(1L), 0, 10, -1, -1, java.util.Set.of(), false, 2);
    PendingEntries.Claimed again = p.claim("c", List.of(1L, 2L), 0, 20, -1, -1, java.util.Set.of(), false, 2);
    assertThat(again.exhausted()).containsExactly(1L);
    assertThat(again.claimed()).extracting(PendingEntries.Pending::sequence).containsExactly(2L);
    assertThat(p.size()).isEqualTo(1);
    // JUSTID keeps the count, so it never exhausts; RETRYCOUNT and IDLE set them.
    PendingEntries.Claimed set = p.claim("d", List.of(2L), 0, 100, 70, 5, java.util.Set.of(), true, 0);
    assertThat(set.claimed().get(0)).isEqualTo(new PendingEntries.Pending(2, "d", 70, 5));
  }

  @Test
  void autoClaimWalksFromTheCursorAndSaysWhereToGoOn() {
    PendingEntries p = new PendingEntries();
    p.delivered("a", List.of(1L, 2L, 3L, 4L, 5L), List.of(1, 1, 1, 1, 1), 0);
    PendingEntries.AutoClaimed first = p.autoClaim("b", 0, 0, 2, 10, false, 0);
    assertThat(first.claimed().claimed()).extracting(PendingEntries.Pending::sequence).containsExactly(1L, 2L);
    assertThat(first.next()).isEqualTo(3);
    PendingEntries.AutoClaimed rest = p.autoClaim("b", 0, first.next(), 10, 10, false, 0);
    assertThat(rest.claimed().claimed()).extracting(PendingEntries.Pending::sequence).containsExactly(3L, 4L, 5L);
    assertThat(rest.next()).isZero();
  }

  @Test
  void historyIsTheConsumersOwnAndCountsADeliveryAndDeletingAConsumerReturnsItsEntries() {
    PendingEntries p = new PendingEntries();
    p.delivered("a", List.of(1L, 2L, 3L), List.of(1, 1, 1), 0);
    p.delivered("b", List.of(4L), List.of(1), 0);
    assertThat(p.history("a", 1, 10, 50)).containsExactly(2L, 3L);
    assertThat(p.range(2, 2, 1, null, 0, 50).get(0).deliveries()).isEqualTo(2);
    assertThat(p.createConsumer("a", 60)).isFalse();
    assertThat(p.createConsumer("z", 60)).isTrue();
    assertThat(p.deleteConsumer("a")).containsExactly(1L, 2L, 3L);
    assertThat(p.deleteConsumer("a")).isNull();
    assertThat(p.size()).isEqualTo(1);
    assertThat(p.consumers(100)).extracting(PendingEntries.ConsumerView::name).containsExactly("b", "z");
  }

  @Test
  void idleConsumersAreBoundedButEntriesAreAlwaysRecorded() {
    PendingEntries p = new PendingEntries();
    for (int i = 0; i < PendingEntries.MAX_IDLE_CONSUMERS; i++) {
      p.seen("idle-" + i, 0);
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> p.seen("one-more", 1))
        .hasMessageContaining("delete idle ones with XGROUP DELCONSUMER");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> p.delivered("empty-read", List.of(), List.of(), 1))
        .hasMessageContaining("XGROUP DELCONSUMER");
    p.delivered("holder", List.of(1L), List.of(1), 1);
    assertThat(p.summary().perConsumer()).containsEntry("holder", 1);
    assertThat(p.deleteConsumer("idle-0")).isEmpty();
    p.seen("now-fits", 2);
  }
}
