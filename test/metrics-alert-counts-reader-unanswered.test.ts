/**
 * The /metrics alert-delivery gauges are counted by the records reader, not on the connection that reads the
 * holds. A reader that fails or does not answer (a thread gone, a lane stuck behind other reads) once made the
 * scrape say `tollgate_database_up 0`, or wait as long as the reader did, while the database answered at once.
 * Such a scrape says the database up, its alert gauges as last read, within a bound.
 */
import { expect, test } from 'bun:test'
import { GatewayMetrics } from '../src/metrics/gateway-metrics'

const holds = async () => ({ n: 2, amount: 3_000_000 })
const scraped = (metrics: GatewayMetrics) => metrics.registry.render()

function metricsCounting(count: () => Promise<{ pending: number; failed: number }>) {
  const metrics = new GatewayMetrics(holds, () => 0, () => true)
  metrics.watchAlerts(count)
  return metrics
}

test('a reader that fails leaves the alert gauges as last read and the database up', async () => {
  let fail = false
  const metrics = metricsCounting(async () => {
    if (fail) throw new Error('records reader failed: gone')
    return { pending: 4, failed: 7 }
  })
  await metrics.readReservations()
  fail = true
  await metrics.readReservations()
  const text = scraped(metrics)
  expect(text).toContain('tollgate_database_up 1\n')
  expect(text).toContain('tollgate_reservations_open 2\n')
  expect(text).toContain('tollgate_alerts_pending 4\n')
  expect(text).toContain('tollgate_alerts_failed 7\n')
})

test('a reader that does not answer holds a scrape back a bounded time, once however many scrapes come', async () => {
  let counts = 0
  let answer: (deliveries: { pending: number; failed: number }) => void = () => {}
  const metrics = metricsCounting(() => {
    counts++
    return new Promise((resolve) => (answer = resolve))
  })
  const started = performance.now()
  await Promise.all([metrics.readReservations(), metrics.readReservations()])
  const ms = performance.now() - started
  expect(ms).toBeLessThan(5_000)
  expect(scraped(metrics)).toContain('tollgate_database_up 1\n')
  expect(counts).toBe(1)
  // Its late answer is the next scrape's, which counts again.
  answer({ pending: 1, failed: 9 })
  await Bun.sleep(0)
  expect(scraped(metrics)).toContain('tollgate_alerts_failed 9\n')
  await metrics.readReservations()
  expect(counts).toBe(2)
}, 20_000)
