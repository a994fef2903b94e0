package dev.spool.consumer;

import dev.spool.Message;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Counts the acknowledged members of message groups (messages with a {@code group-id} header) toward
 * their declared {@code group-size}, so that the consumer can say when a group is complete. At most
 * {@code maxOpenGroups} groups are tracked; a new one beyond that evicts the oldest.
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor}.
 */
public final class GroupTracker {

  static final String GROUP_ID = "group-id";
  static final String GROUP_SIZE = "group-size";

  /**
   * What an acknowledged member changed: the group forgotten to make room ({@code evicted}), and the
   * group it completed ({@code completed}, of {@code size} members); either may be {@code null}.
   */
  public record Outcome(String evicted, String completed, int size) {}

  /** {acknowledged, declared size} per group; insertion order, so the oldest is evicted first. */
  private final LinkedHashMap<String, int[]> groups = new LinkedHashMap<>();

  /**
   * Counts {@code m} as acknowledged in its group; {@code null} when that changed nothing worth
   * telling (no group, or the group is still open and nothing was evicted).
   */
  public Outcome memberAcked(Message m, int maxOpenGroups) {
    Map<String, String> headers = m.headers();
    String groupId = headers.isEmpty() || maxOpenGroups == 0 ? null : headers.get(GROUP_ID);
    if (groupId == null) {
      return null;
    }
    String evicted = null;
    int[] group = groups.get(groupId);
    if (group == null) {
      if (groups.size() >= maxOpenGroups) {
        evicted = groups.keySet().iterator().next();
        groups.remove(evicted);
      }
      group = new int[2];
      groups.put(groupId, group);
    }
    group[0]++;
    String size = headers.get(GROUP_SIZE);
    if (size != null) {
      try {
        group[1] = Integer.parseInt(size.trim());
      } catch (NumberFormatException notANumber) {
        // a malformed size declares nothing; another member may declare it
      }
    }
    if (group[1] > 0 && group[0] >= group[1]) {
      groups.remove(groupId);
      return new Outcome(evicted, groupId, group[1]);
    }
    return evicted == null ? null : new Outcome(evicted, null, 0);
  }

  /** A seek: acknowledgements counted so far may be delivered again, so they no longer count. */
  public void clear() {
    groups.clear();
  }

  /** Groups with acknowledged members, not complete yet. */
  public int open() {
    return groups.size();
  }
}
