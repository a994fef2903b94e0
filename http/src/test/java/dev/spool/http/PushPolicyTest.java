package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException;
import java.net.InetAddress;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code spool.push.allowed-hosts}: which endpoints and addresses a push may reach. */
class PushPolicyTest {

  private static InetAddress ip(String literal) throws Exception {
    return InetAddress.getByName(literal);
  }

  @Test
  void internalAddressesAreNotPublic() throws Exception {
    for (String internal : new String[] {"127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "172.31.255.255",
        "192.168.1.1", "169.254.169.254", "0.0.0.0", "100.64.0.1", "100.127.255.254", "224.0.0.1", "255.255.255.255",
        "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:10.0.0.1", "::ffff:127.0.0.1",
        "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1", "2002:7f00:1::", "2002:a9fe:a9fe::", "::127.0.0.1", "::a9fe:a9fe",
        "100::1", "2001:db8::1", "2001:0:4136:e378::1", "64:ff9b:1::1"}) {
      assertFalse(PushPolicy.isPublic(ip(internal)), internal);
    }
    for (String open : new String[] {"8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.169.0.1",
        "2001:4860:4860::8888", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"}) {
      assertTrue(PushPolicy.isPublic(ip(open)), open);
    }
  }

  @Test
  void theDefaultAdmitsPublicHostsAndRefusesInternalOnes() throws Exception {
    PushPolicy policy = new PushPolicy(List.of("*"), false);
    policy.checkEndpoint(URI.create("https://hooks.example.com/in"));
    policy.checkEndpoint(URI.create("https://8.8.8.8/in"));
    for (String refused : new String[] {"https://127.0.0.1/x", "https://10.0.0.8/x", "https://[::1]/x",
        "https://169.254.169.254/latest/meta-data", "https://[fd00::1]/x", "https://localhost:8080/x",
        "https://api.localhost/x", "https://[::ffff:127.0.0.1]/x", "https://2130706433/x"}) {
      SpoolException e = assertThrows(SpoolException.InvalidConfiguration.class,
          () -> policy.checkEndpoint(URI.create(refused)), refused);
      assertTrue(e.getMessage().contains("allowed-hosts"), e.getMessage());
    }
    SpoolException plain = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> policy.checkEndpoint(URI.create("http://hooks.example.com/in")));
    assertTrue(plain.getMessage().contains("allow-http"), plain.getMessage());
    // A public name that resolves to an internal address is refused when the connection is made.
    SpoolException rebound = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> policy.choose("hooks.example.com", new InetAddress[] {ip("10.1.2.3")}));
    assertTrue(rebound.getMessage().contains("10.1.2.3"), rebound.getMessage());
    assertEquals(ip("8.8.4.4"), policy.choose("hooks.example.com", new InetAddress[] {ip("10.1.2.3"), ip("8.8.4.4")}),
        "the first admitted address is used");
  }

  @Test
  void exactNamesAndAddressBlocksAdmitInternalAddressesWildcardsDoNot() throws Exception {
    PushPolicy policy = new PushPolicy(List.of("receiver.internal", "*.example.com", "10.1.0.0/16", "fd00::/8"),
        true);
    assertEquals(ip("10.9.9.9"), policy.choose("receiver.internal", new InetAddress[] {ip("10.9.9.9")}),
        "listed by name: the operator consents to where it resolves");
    assertEquals(ip("10.1.200.3"), policy.choose("anything.example.com", new InetAddress[] {ip("10.1.200.3")}),
        "inside a listed block");
    assertThrows(SpoolException.InvalidConfiguration.class,
        () -> policy.choose("api.example.com", new InetAddress[] {ip("10.2.0.1")}), "a wildcard admits public addresses only");
    policy.checkEndpoint(URI.create("http://10.1.2.3:8080/x"));
    policy.checkEndpoint(URI.create("http://[fd00::5]/x"));
    policy.checkEndpoint(URI.create("https://deep.api.example.com/x"));
    for (String refused : new String[] {"https://example.com/x", "https://other.org/x", "http://10.2.0.1/x",
        "https://receiver.internal.evil.org/x"}) {
      assertThrows(SpoolException.InvalidConfiguration.class, () -> policy.checkEndpoint(URI.create(refused)), refused);
    }
  }

  @Test
  void badPatternsAreRefusedWithTheirText() {
    for (String bad : new String[] {"", "api.*.com", "10.0.0.0/33", "10.0.0.0/x", "fd00::/200", "1.2.3.4.5"}) {
      SpoolException e = assertThrows(SpoolException.InvalidConfiguration.class,
          () -> new PushPolicy(List.of(bad), false), bad);
      assertTrue(e.getMessage().contains("allowed-hosts") || e.getMessage().contains("IP address"), e.getMessage());
    }
  }
}
