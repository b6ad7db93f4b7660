/**
 * GET /v1/pricing pages by model name, and takes back a cursor of up to 256 characters, as long as a price
 * posted through the API may be. The config file's `pricing` keys and alias targets are bounded the same
 * (they had no bound: a 300-character model seeded from the file handed out a next_cursor the list then
 * refused with a 400, stopping the console's "Next" and `prices list --all` there).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { configSchema } from '../src/config/schema'
import { MASTER_KEY, startTestGateway, type TestGateway } from './support/gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './support/scripted-upstream'

const LONGEST = `plain:${'a'.repeat(250)}` // 256 characters
let upstream: ScriptedUpstream
let gw: TestGateway
beforeAll(async () => {
  upstream = startScriptedUpstream()
  gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { [LONGEST]: { input_per_million: 1, output_per_million: 1 }, 'plain:b': { input_per_million: 1, output_per_million: 1 } },
    },
  })
})
afterAll(async () => {
  await gw?.stop()
  await upstream?.stop()
})

test('a config-seeded model of 256 characters: every next_cursor GET /v1/pricing hands out is accepted back', async () => {
  expect(LONGEST).toHaveLength(256)
  const first = await gw.admin('GET', '/v1/pricing?limit=1')
  expect(first.status).toBe(200)
  expect(first.body.data.map((p: any) => p.model)).toEqual([LONGEST])
  expect(first.body.next_cursor).toBe(LONGEST)
  const second = await gw.admin('GET', `/v1/pricing?limit=1&cursor=${encodeURIComponent(first.body.next_cursor)}`)
  expect(second.status).toBe(200)
  expect(second.body.data.map((p: any) => p.model)).toEqual(['plain:b'])
})

test('a config pricing key or alias target past 256 characters is refused at start, naming it', () => {
  const providers = scriptedProviders(upstream)
  const long = `plain:${'a'.repeat(300)}`
  for (const config of [
    { pricing: { [long]: { input_per_million: 1, output_per_million: 1 } } },
    { aliases: { short: long } },
  ]) {
    const parsed = configSchema.safeParse({ master_key: MASTER_KEY, providers, ...config })
    expect(parsed.success).toBe(false)
    // A record's key is reported as an invalid key of it (zod), a value with the reason.
    const issue = parsed.error!.issues.find((i) => i.path[0] === Object.keys(config)[0])
    expect(issue?.message).toMatch(/256|Invalid key/)
  }
})
