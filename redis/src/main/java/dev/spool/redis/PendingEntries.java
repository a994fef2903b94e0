package dev.spool.redis;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One consumer group's pending entries list, as Redis keeps it: which of the group's consumers
 * each delivered, unacknowledged entry belongs to, when it was last delivered and how often; and
 * the group's consumers with their last attempt and last success. The Spool consumer behind the
 * group holds the entries in flight; this adds ownership, which Spool's competing subscribers do
 * not have.
 *
 * <p>Single writer: its {@link ConsumerGroups} actor, on the actor's thread.
 */
final class PendingEntries {

  /** One pending entry. */
  static final class Entry {
    final long sequence;
    String owner;
    long deliveredAt;
    long deliveries;

    Entry(long sequence, String owner, long deliveredAt, long deliveries) {
      this.sequence = sequence;
      this.owner = owner;
      this.deliveredAt = deliveredAt;
      this.deliveries = deliveries;
    }

    Pending view(long now) {
      return new Pending(sequence, owner, Math.max(0, now - deliveredAt), deliveries);
    }
  }

  /** A pending entry as XPENDING reports it. */
  record Pending(long sequence, String consumer, long idleMs, long deliveries) {}

  /** A consumer of the group as XINFO CONSUMERS reports it. */
  record ConsumerView(String name, int pending, long idleMs, long inactiveMs) {}

  /** What a claim did: the entries now the claimant's, and those that had been delivered too often. */
  record Claimed(List<Pending> claimed, List<Long> exhausted) {}

  private static final class Member {
    final TreeSet<Long> owned = new TreeSet<>();
    long seenAt;
    long activeAt = -1;

    Member(long now) {
      this.seenAt = now;
    }
  }

  /** Consumers one group keeps besides those holding entries (Redis keeps any number). */
  static final int MAX_IDLE_CONSUMERS = 10_000;

  private final NavigableMap<Long, Entry> entries = new TreeMap<>();
  private final Map<String, Member> members = new LinkedHashMap<>();

  /**
   * The consumer, created if new: a name beyond {@link #MAX_IDLE_CONSUMERS} is refused unless it
   * is given entries ({@code holding}), which must never go unrecorded.
   */
  private Member member(String name, long now, boolean holding) {
    Member member = members.get(name);
    if (member == null) {
      if (!holding && members.size() >= MAX_IDLE_CONSUMERS + size()) {
        throw new dev.spool.redis.resp.RespError("ERR this group has " + members.size()
            + " consumers: delete idle ones with XGROUP DELCONSUMER before adding more");
      }
      member = new Member(now);
      members.put(name, member);
    }
    return member;
  }

  int size() {
    return entries.size();
  }

  /** Creates the consumer if it is new; whether it was. */
  boolean createConsumer(String name, long now) {
    if (members.containsKey(name)) {
      return false;
    }
    member(name, now, false);
    return true;
  }

  /** Notes an attempt by {@code consumer} (a read or claim), creating it as Redis does. */
  void seen(String consumer, long now) {
    member(consumer, now, false).seenAt = now;
  }

  /**
   * Records deliveries to {@code consumer}; an entry already pending (Spool delivered it again after
   * its ack deadline) moves to this consumer, counting one more delivery.
   */
  void delivered(String consumer, List<Long> sequences, List<Integer> attempts, long now) {
    Member member = member(consumer, now, !sequences.isEmpty());
    member.seenAt = now;
    if (!sequences.isEmpty()) {
      member.activeAt = now;
    }
    for (int i = 0; i < sequences.size(); i++) {
      long sequence = sequences.get(i);
      Entry entry = entries.get(sequence);
      if (entry == null) {
        entries.put(sequence, new Entry(sequence, consumer, now, Math.max(1, attempts.get(i))));
      } else {
        move(entry, consumer);
        entry.deliveredAt = now;
        entry.deliveries = Math.max(entry.deliveries + 1, attempts.get(i));
      }
      member.owned.add(sequence);
    }
  }

  /** Removes the acknowledged entries; how many were pending. */
  int acknowledge(List<Long> sequences) {
    int removed = 0;
    for (long sequence : sequences) {
      Entry entry = entries.remove(sequence);
      if (entry != null) {
        removed++;
        Member owner = members.get(entry.owner);
        if (owner != null) {
          owner.owned.remove(sequence);
        }
      }
    }
    return removed;
  }

  /** {@code consumer}'s own pending entries after {@code after}, at most {@code count}, counted as delivered again. */
  List<Long> history(String consumer, long after, int count, long now) {
    Member member = member(consumer, now, false);
    member.seenAt = now;
    List<Long> out = new ArrayList<>();
    for (long sequence : member.owned.tailSet(after, false)) {
      if (out.size() >= count) {
        break;
      }
      Entry entry = entries.get(sequence);
      entry.deliveredAt = now;
      entry.deliveries++;
      out.add(sequence);
    }
    if (!out.isEmpty()) {
      member.activeAt = now;
    }
    return out;
  }

  /** Entries from {@code from} to {@code to}, idle at least {@code minIdle}, of {@code consumer} (or all: null). */
  List<Pending> range(long from, long to, int count, String consumer, long minIdle, long now) {
    List<Pending> out = new ArrayList<>();
    if (from > to) {
      return out;
    }
    Iterable<Long> sequences = consumer == null ? entries.subMap(from, true, to, true).keySet()
        : members.containsKey(consumer) ? members.get(consumer).owned.subSet(from, true, to, true) : List.of();
    for (long sequence : sequences) {
      if (out.size() >= count) {
        break;
      }
      Entry entry = entries.get(sequence);
      if (now - entry.deliveredAt >= minIdle) {
        out.add(entry.view(now));
      }
    }
    return out;
  }

  /** The summary form of XPENDING: count, lowest and highest sequence, and each consumer's count. */
  record Summary(int count, long lowest, long highest, Map<String, Integer> perConsumer) {}

  Summary summary() {
    Map<String, Integer> per = new LinkedHashMap<>();
    members.forEach((name, m) -> {
      if (!m.owned.isEmpty()) {
        per.put(name, m.owned.size());
      }
    });
    return entries.isEmpty() ? new Summary(0, 0, 0, per)
        : new Summary(entries.size(), entries.firstKey(), entries.lastKey(), per);
  }

  /**
   * XCLAIM: the given entries idle at least {@code minIdle} become {@code consumer}'s. With
   * {@code justId} the delivery count stays; otherwise it grows by one, and an entry whose count
   * would pass {@code maxDeliveries} (0: no limit) is not claimed but returned as exhausted and
   * forgotten, for the caller to dead-letter. {@code idleMs}/{@code retryCount} (≥ 0) set the idle
   * time and count as XCLAIM's IDLE/TIME and RETRYCOUNT do; entries not pending are created (FORCE)
   * for the sequences in {@code force}, which holds only those still in the stream.
   */
  Claimed claim(String consumer, List<Long> sequences, long minIdle, long now, long idleMs, long retryCount,
      java.util.Set<Long> force, boolean justId, int maxDeliveries) {
    seen(consumer, now);
    List<Pending> claimed = new ArrayList<>();
    List<Long> exhausted = new ArrayList<>();
    for (long sequence : sequences) {
      Entry entry = entries.get(sequence);
      if (entry == null) {
        if (!force.contains(sequence)) {
          continue;
        }
        entry = new Entry(sequence, consumer, now, 0);
        entries.put(sequence, entry);
        members.get(consumer).owned.add(sequence);
      } else if (now - entry.deliveredAt < minIdle) {
        continue;
      }
      takeOver(entry, consumer, now, idleMs, retryCount, justId, maxDeliveries, claimed, exhausted);
    }
    if (!claimed.isEmpty()) {
      members.get(consumer).activeAt = now;
    }
    return new Claimed(claimed, exhausted);
  }

  /** XAUTOCLAIM: what it claimed, what was exhausted, and where the next call starts (0 when done). */
  record AutoClaimed(Claimed claimed, long next) {}

  AutoClaimed autoClaim(String consumer, long minIdle, long start, int count, long now, boolean justId,
      int maxDeliveries) {
    seen(consumer, now);
    List<Pending> claimed = new ArrayList<>();
    List<Long> exhausted = new ArrayList<>();
    // Redis looks at up to ten times COUNT entries per call, so one call's work stays bounded.
    int budget = count * 10;
    long next = 0;
    Iterator<Entry> it = new ArrayList<>(entries.tailMap(start, true).values()).iterator();
    while (it.hasNext()) {
      Entry entry = it.next();
      if (claimed.size() + exhausted.size() >= count || budget-- <= 0) {
        next = entry.sequence;
        break;
      }
      if (now - entry.deliveredAt >= minIdle) {
        takeOver(entry, consumer, now, -1, -1, justId, maxDeliveries, claimed, exhausted);
      }
    }
    if (!claimed.isEmpty()) {
      members.get(consumer).activeAt = now;
    }
    return new AutoClaimed(new Claimed(claimed, exhausted), next);
  }

  private void takeOver(Entry entry, String consumer, long now, long idleMs, long retryCount, boolean justId,
      int maxDeliveries, List<Pending> claimed, List<Long> exhausted) {
    long deliveries = retryCount >= 0 ? retryCount : justId ? entry.deliveries : entry.deliveries + 1;
    if (maxDeliveries > 0 && deliveries > maxDeliveries) {
      forget(entry.sequence);
      exhausted.add(entry.sequence);
      return;
    }
    move(entry, consumer);
    entry.deliveries = deliveries;
    entry.deliveredAt = idleMs >= 0 ? now - idleMs : now;
    claimed.add(entry.view(now));
  }

  /** Forgets entries (deleted from the stream, or dead-lettered). */
  void forget(long sequence) {
    Entry entry = entries.remove(sequence);
    if (entry != null) {
      Member owner = members.get(entry.owner);
      if (owner != null) {
        owner.owned.remove(sequence);
      }
    }
  }

  /** Deletes a consumer; the sequences it had pending (the caller hands them back to Spool to deliver again). */
  List<Long> deleteConsumer(String name) {
    Member member = members.remove(name);
    if (member == null) {
      return null;
    }
    List<Long> owned = new ArrayList<>(member.owned);
    owned.forEach(entries::remove);
    return owned;
  }

  List<ConsumerView> consumers(long now) {
    List<ConsumerView> out = new ArrayList<>();
    members.forEach((name, m) -> out.add(new ConsumerView(name, m.owned.size(), Math.max(0, now - m.seenAt),
        m.activeAt < 0 ? -1 : Math.max(0, now - m.activeAt))));
    return out;
  }

  int consumerCount() {
    return members.size();
  }

  private void move(Entry entry, String consumer) {
    if (!entry.owner.equals(consumer)) {
      Member was = members.get(entry.owner);
      if (was != null) {
        was.owned.remove(entry.sequence);
      }
      members.computeIfAbsent(consumer, c -> new Member(0)).owned.add(entry.sequence);
      entry.owner = consumer;
    }
  }
}
