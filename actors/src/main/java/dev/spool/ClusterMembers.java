package dev.spool;

import java.util.List;

/**
 * The cluster as this member sees it (cluster mode), for operators and readiness.
 *
 * @param enabled whether this engine runs in cluster mode; standalone, the other fields are empty
 * @param self this member's address ({@code pekko://spool@host:port})
 * @param members every member this one knows of, by address
 * @since 0.1.0
 */
public record ClusterMembers(boolean enabled, String self, List<Member> members) {

  /** A standalone engine. */
  public static final ClusterMembers STANDALONE = new ClusterMembers(false, null, List.of());

  /** Keeps copies of the collections: the record never changes. */
  public ClusterMembers {
    members = List.copyOf(members);
  }

  /** Whether this member is up in the cluster (or standalone): it serves. */
  public boolean selfUp() {
    return !enabled || members.stream().anyMatch(m -> m.address().equals(self) && m.status().equals("Up"));
  }

  /**
   * A member.
   *
   * @param address its address
   * @param status Pekko's member status: {@code Joining}, {@code WeaklyUp}, {@code Up}, {@code Leaving},
   *     {@code Exiting}, {@code Down}, {@code Removed}
   * @param reachable whether this member reaches it (an unreachable one is downed by the Split Brain
   *     Resolver once membership is stable)
   * @param leader whether it is the cluster's leader (which moves members between states)
   * @param queues queues running on it; -1 when it did not answer in time
   */
  public record Member(String address, String status, boolean reachable, boolean leader, int queues) {}
}
