/**
 * Redis down again just after it came back, for the reason its outage was told — the probe passes where a
 * request's command is refused — is that outage going on: it was logged (and counted) again at every request,
 * with a "redis connected" line between each. It is told only if it lasts 5 s. Here the probe is a PING and the
 * requests' command a GET the ACL refuses.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { createLogger } from '../../src/log/logger'
import { RedisLink } from '../../src/redis/link'
import { startRedis, type TestRedis } from '../support/redis-server'
import { within } from '../support/wait-for'

let redis: TestRedis
const lines: string[] = []
let link: RedisLink

beforeAll(async () => {
  redis = await startRedis()
  expect(await redis.cli('ACL', 'SETUSER', 'tg', 'on', '>pw', '~*', '&*', '+@all', '-get')).toBe('OK')
  link = new RedisLink(`redis://tg:pw@127.0.0.1:${redis.port}`, createLogger('info', (line) => lines.push(line)))
  await link.start()
})

afterAll(async () => {
  link?.stop()
  await redis?.stop()
})

const told = (what: string) => lines.filter((l) => l.includes(what)).length

test('refused at each request while the probe passes: told once, not at each request', async () => {
  expect(link.up).toBe(true)
  for (let i = 0; i < 10; i++) {
    await link.send('GET', ['some-key']).catch(() => {})
    await Bun.sleep(300) // the probe (every 250 ms) calls it up again
  }
  expect({ refused: told('redis authentication failed'), connected: told('redis connected'), outages: link.outages }).toEqual({
    refused: 1,
    connected: 2, // at startup, and after the first refusal
    outages: 1,
  })
}, 30_000)

test('down again for good just after coming back: told, and counted, once it has lasted 5 s', async () => {
  expect(link.up).toBe(true)
  expect(await redis.cli('ACL', 'SETUSER', 'tg', '-ping')).toBe('OK') // the probe is refused too now
  const down = performance.now()
  await link.send('GET', ['some-key']).catch(() => {})
  // Told when it has lasted 5 s, not before: a loaded machine can only make that later.
  const waited = await within(10_000, async () => told('redis authentication failed') === 2)
  const lasted = Math.round(performance.now() - down)
  expect({ told: waited < 10_000, lasted5s: lasted >= 4_990, up: link.up, outages: link.outages }).toEqual({ told: true, lasted5s: true, up: false, outages: 2 })
  expect(await redis.cli('ACL', 'SETUSER', 'tg', '+ping')).toBe('OK')
  expect(await within(5_000, async () => link.up && told('redis connected') === 3)).toBeLessThan(5_000)
  expect({ up: link.up, connected: told('redis connected') }).toEqual({ up: true, connected: 3 })
}, 30_000)
