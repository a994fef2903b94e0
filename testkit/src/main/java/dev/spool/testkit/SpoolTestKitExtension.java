package dev.spool.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension: a fresh {@link SpoolTestKit} (its own engine, so no queue or consumer leaks from
 * one test into the next) for every test, on one actor system per test class. Test methods (and
 * {@code @BeforeEach} and {@code @AfterEach} methods) may take a {@link SpoolTestKit} or a
 * {@link Spool} parameter.
 *
 * <pre>{@code
 * @ExtendWith(SpoolTestKitExtension.class)              // manual time
 * class BillingTest {
 *   @Test
 *   void chargesEachOrder(SpoolTestKit kit) { … }
 * }
 *
 * class ConsoleTest {
 *   @RegisterExtension
 *   static final SpoolTestKitExtension spool = SpoolTestKitExtension.realTime();
 *   @Test
 *   void servesTheConsole() { Spool engine = spool.kit().spool(); … }
 * }
 * }</pre>
 *
 * <p>Register it on a static field (or with {@code @ExtendWith}): on an instance field JUnit does
 * not call its per-class callbacks, and it then starts an actor system per test.
 *
 * @since 0.1.0
 */
public final class SpoolTestKitExtension
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {

  private final boolean manualTime;
  private final Config overrides;
  private ActorSystem<?> system;
  private boolean systemPerTest;
  private volatile SpoolTestKit kit;

  /** Manual time with the application's configuration: what {@code @ExtendWith} gives. */
  public SpoolTestKitExtension() {
    this(true, ConfigFactory.empty());
  }

  private SpoolTestKitExtension(boolean manualTime, Config overrides) {
    this.manualTime = manualTime;
    this.overrides = overrides;
  }

  /** Kits on manual time, configured by {@code overrides} over the application's configuration. */
  public static SpoolTestKitExtension manualTime(Config overrides) {
    return new SpoolTestKitExtension(true, overrides);
  }

  /** Kits on real time and the system clock. */
  public static SpoolTestKitExtension realTime() {
    return realTime(ConfigFactory.empty());
  }

  /** Kits on real time, configured by {@code overrides} over the application's configuration. */
  public static SpoolTestKitExtension realTime(Config overrides) {
    return new SpoolTestKitExtension(false, overrides);
  }

  /**
   * The current test's kit.
   *
   * @throws IllegalStateException outside a test
   */
  public SpoolTestKit kit() {
    SpoolTestKit current = kit;
    if (current == null) {
      throw new IllegalStateException("no test is running: the kit exists from before each test to after it");
    }
    return current;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    system = newSystem();
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    if (system == null) {
      system = newSystem();
      systemPerTest = true;
    }
    kit = SpoolTestKit.on(system);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    try {
      if (kit != null) {
        kit.close();
      }
    } finally {
      kit = null;
      if (systemPerTest) {
        terminate();
      }
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    terminate();
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    // Test methods only: a test instance may outlive one test (per-class lifecycle), its kit may not.
    Class<?> type = parameter.getParameter().getType();
    return parameter.getDeclaringExecutable() instanceof java.lang.reflect.Method
        && (type == SpoolTestKit.class || type == Spool.class);
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == Spool.class ? kit.spool() : kit;
  }

  private ActorSystem<?> newSystem() {
    return SpoolTestKit.newSystem(manualTime ? SpoolTestKit.manualTimeConfig().withFallback(overrides) : overrides);
  }

  private void terminate() {
    if (system == null) {
      return;
    }
    ActorSystem<?> stopping = system;
    system = null;
    systemPerTest = false;
    stopping.terminate();
    try {
      stopping.getWhenTerminated().toCompletableFuture().get(Duration.ofSeconds(30).toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // A system that does not terminate in time is left to the JVM's exit; the next class gets its own.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
