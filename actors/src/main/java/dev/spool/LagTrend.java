package dev.spool;

/**
 * Where a consumer's lag went over about the last minute.
 *
 * @since 0.1.0
 */
public enum LagTrend {
  /** More lag than about a minute ago. */
  RISING("rising"),
  /** Less lag than about a minute ago. */
  FALLING("falling"),
  /** About the same lag as a minute ago. */
  STEADY("steady");

  private final String wireName;

  LagTrend(String wireName) {
    this.wireName = wireName;
  }

  /** The name in JSON and the console. */
  public String wireName() {
    return wireName;
  }

  @Override
  public String toString() {
    return wireName;
  }
}
