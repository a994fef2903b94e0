package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException;
import org.junit.jupiter.api.Test;

/** Reading {@code spool.http}: its defaults, and the keys it no longer reads refused with their replacement. */
class HttpSettingsTest {

  @Test
  void theDefaultsAreRead() {
    HttpSettings s = HttpSettings.create(ConfigFactory.load());

    assertEquals(100, s.defaultReadMax());
    assertEquals(1000, s.maxBrowse());
  }

  @Test
  void aSecondReadWaitCapIsRefusedNamingTheEnginesOne() {
    SpoolException e = assertThrows(SpoolException.InvalidConfiguration.class, () -> HttpSettings.create(
        ConfigFactory.parseString("spool.http.max-read-wait = 20s").withFallback(ConfigFactory.load())));

    assertTrue(e.getMessage().contains("spool.http.max-read-wait is no longer read"), e.getMessage());
    assertTrue(e.getMessage().contains("set spool.consumer.max-read-wait"), e.getMessage());
  }

  @Test
  void aFractionForACountIsRefusedNotTruncated() {
    SpoolException e = assertThrows(SpoolException.InvalidConfiguration.class, () -> HttpSettings.create(
        ConfigFactory.parseString("spool.http.connections.max = 2.5").withFallback(ConfigFactory.load())));

    assertTrue(e.getMessage().contains("'max'"), e.getMessage());
    assertTrue(e.getMessage().contains("must be a whole number, not 2.5"), e.getMessage());
  }
}
