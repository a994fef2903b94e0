package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Token configuration, queue patterns and role rules, without a server. */
class AuthConfigTest {

  private static HttpSettings settings(String tokens) {
    Config c = ConfigFactory.parseString("spool.http.auth.tokens = [" + tokens + "]").withFallback(ConfigFactory.load());
    return HttpSettings.create(c);
  }

  @Test
  void queuePatternsHaveOnlyStarAsAWildcard() {
    Principal p = new Principal("p", Set.of(Role.PRODUCER),
        List.of(Principal.compile("orders-*"), Principal.compile("*.dlq"), Principal.compile("a.b")));
    for (String yes : List.of("orders-1", "orders-", "eu.dlq", "a.b")) {
      assertTrue(p.may(Access.publish(yes)), yes);
    }
    for (String no : List.of("orders", "billing", "xorders-1", "aXb", "eu.dlq2")) {
      assertFalse(p.may(Access.publish(no)), no);
    }
  }

  @Test
  void rolesGrantWhatTheContractSays() {
    Principal viewer = new Principal("v", Set.of(Role.VIEWER), List.of());
    assertTrue(viewer.may(Access.VIEW));
    assertTrue(viewer.may(Access.viewQueue("any")));
    assertFalse(viewer.may(Access.publish("any")));
    assertFalse(viewer.may(Access.consume("any")));
    assertFalse(viewer.may(Access.ADMIN));

    Principal both = new Principal("b", Set.of(Role.PRODUCER, Role.CONSUMER), List.of(Principal.compile("o-*")));
    assertTrue(both.may(Access.publish("o-1")) && both.may(Access.consume("o-1")) && both.may(Access.viewQueue("o-1")));
    assertFalse(both.may(Access.VIEW));
    assertFalse(both.may(Access.ADMIN));
  }

  @Test
  void configuredTokensAuthenticateByHashOnly() {
    HttpSettings s = settings("{name = ci, sha256 = \"" + Authenticator.sha256Hex("s3cret-token") + "\", roles = [producer],"
        + " queues = [\"orders-*\"]}");
    Authenticator.Prepared prepared = Authenticator.prepare(s);
    assertTrue(prepared.generatedToken().isEmpty());
    Principal ci = prepared.authenticator().authenticate("s3cret-token").orElseThrow();
    assertEquals("ci", ci.name());
    assertTrue(ci.may(Access.publish("orders-7")));
    assertTrue(prepared.authenticator().authenticate("s3cret-token ").isEmpty());
    assertTrue(prepared.authenticator().authenticate(Authenticator.sha256Hex("s3cret-token")).isEmpty(),
        "the hash itself is not a token");
  }

  @Test
  void badTokenConfigurationIsRefusedWithAClearMessage() {
    SpoolException hash = assertThrows(SpoolException.class, () -> settings("{name = x, sha256 = abc, roles = [admin]}"));
    assertTrue(hash.getMessage().contains("64 hex digits"));
    SpoolException role = assertThrows(SpoolException.class,
        () -> settings("{name = x, sha256 = \"" + "0".repeat(64) + "\", roles = [root]}"));
    assertTrue(role.getMessage().contains("unknown role 'root'"));
    SpoolException none = assertThrows(SpoolException.class,
        () -> settings("{name = x, sha256 = \"" + "0".repeat(64) + "\", roles = []}"));
    assertTrue(none.getMessage().contains("no roles"));
  }

  @Test
  void defaultsComeFromReferenceConf() {
    HttpSettings s = HttpSettings.create(ConfigFactory.load());
    assertEquals(8 * 1024 * 1024, s.maxBody());
    assertEquals(List.of(), s.tokens());
    assertFalse(s.tls().enabled());
    assertFalse(s.tls().toString().contains("password="), "the keystore password is never printed");
  }
}
