/**
 * The case check (src/http/case-variant-keys.ts) looks at a key that holds a non-ASCII character one character at a
 * time. A tenant's body within the 25 MB limit can hold ONE top-level key of tens of millions of characters: the
 * check must stop at the first character out of its fold, without building the folded key (building it held the
 * request thread ~2 s and grew the process ~820 MB), and must not work out the same character's fold millions of
 * times over, while JSON.parse of the same bytes takes a few ms. Every other tenant would wait that long.
 *
 * The gateway runs as a child process, so that the measure is its event loop, not this test's.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'

let gw: SpawnedGateway
let secret: string

beforeAll(async () => {
  gw = await spawnGateway({ config: { log_level: 'warn' } })
  ;({ secret } = await gw.userWithKey({ id: 'long-key', max_budget: 10 }))
})

afterAll(async () => {
  await gw?.stop()
})

async function refusedWithoutStall(key: string): Promise<void> {
  const body = `{"model":"mock:gpt-mock","messages":[{"role":"user","content":"hi"}],"${key}":1}`
  expect(Buffer.byteLength(body)).toBeLessThan(26_214_400)
  const sent = fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body,
  }).then(async (res) => ({ status: res.status, text: await res.text() }))
  const worst = await worstHealthDuring(gw.url, sent)
  const answer = await sent
  expect(answer.status).toBe(400)
  expect(answer.text).toContain('case_variant_key')
  console.log(`worst /health meanwhile: ${worst.toFixed(0)} ms`)
  expect(worst).toBeLessThan(500)
}

test('a 24 MB key of one non-ASCII character and ASCII letters is refused without stalling the gateway: /health answers within 500 ms meanwhile', async () => {
  await refusedWithoutStall('é' + 'a'.repeat(24_000_000) + 'A')
}, 60_000)

test('a 24 MB key of 12 million non-ASCII letters is refused without stalling the gateway: /health answers within 500 ms meanwhile', async () => {
  await refusedWithoutStall('ж'.repeat(12_000_000) + 'A')
}, 60_000)
