package dev.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class SpoolSettingsTest {

  @Test
  void oneJournalWriteInFlightByDefault() {
    SpoolSettings settings = SpoolSettings.create(ConfigFactory.load());
    assertEquals(1, settings.persistence().writesInFlight());
    assertEquals(SpoolSettings.Persistence.DEFAULT_WRITES_IN_FLIGHT, settings.persistence().writesInFlight());
  }

  @Test
  void aFractionWhereAWholeNumberBelongsIsRefusedNamingWhereItWasSet() {
    var config = ConfigFactory.parseString("spool.persistence.writes-in-flight = 2.5\n",
            com.typesafe.config.ConfigParseOptions.defaults().setOriginDescription("application.conf"))
        .withFallback(ConfigFactory.load());
    ConfigException.BadValue refused = assertThrows(ConfigException.BadValue.class, () -> SpoolSettings.create(config));
    assertTrue(refused.getMessage().contains("application.conf"), refused.getMessage());
    assertTrue(refused.getMessage().contains("writes-in-flight"), refused.getMessage());
    assertTrue(refused.getMessage().contains("must be a whole number, not 2.5"), refused.getMessage());

    var prefetch = ConfigFactory.parseString("spool.consumer.prefetch = 10.0").withFallback(ConfigFactory.load());
    assertEquals(10, SpoolSettings.create(prefetch).consumer().prefetch(), "a whole number written with a point");
    var range = ConfigFactory.parseString("spool.persistence.writes-in-flight = 17").withFallback(ConfigFactory.load());
    assertEquals(SpoolException.Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> SpoolSettings.create(range)).code());
  }
}
