package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class QueueRatesTest {

  @Test
  void ratesArePerSecondOverTheIntervalSinceTheLastSample() {
    QueueRates rates = new QueueRates(10_000);

    rates.sample(12_000, 500, 300); // two seconds
    assertEquals(250.0, rates.publishRate());
    assertEquals(150.0, rates.deliverRate());

    rates.sample(12_500, 600, 300); // half a second, deltas only
    assertEquals(200.0, rates.publishRate());
    assertEquals(0.0, rates.deliverRate());
  }

  @Test
  void aClockThatDidNotMoveKeepsTheLastRates() {
    QueueRates rates = new QueueRates(10_000);
    rates.sample(11_000, 40, 20);

    rates.sample(11_000, 1_000, 1_000);
    rates.sample(10_500, 2_000, 2_000); // a wall clock set back

    assertEquals(40.0, rates.publishRate());
    assertEquals(20.0, rates.deliverRate());
  }
}
