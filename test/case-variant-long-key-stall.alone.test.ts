/**
 * The case check (src/http/case-variant-keys.ts) looks at a key that holds a non-ASCII character one character at a
 * time. A tenant's body within the 25 MB limit can hold ONE top-level key of tens of millions of characters: the
 * check must stop at the first character out of its fold, without building the folded key (building it held the
 * request thread ~2 s and grew the process ~820 MB), and must not work out the same character's fold millions of
 * times over, while JSON.parse of the same bytes takes a few ms. Every other tenant would wait that long.
 *
 * How many case mappings the check asks for says so on any machine. Beside it, the gateway runs as a child process,
 * so that what its request thread runs while a /health waits can be measured (support/request-thread-hold): some
 * 180 ms on a busy 2-core machine, 1.7–2.5 s before.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { refuseCaseVariantKeys } from '../src/http/case-variant-keys'
import { spawnGateway, type SpawnedGateway } from './support/gateway'
import { worstHoldDuring } from './support/request-thread-hold'

const ASCII_KEY = 'é' + 'a'.repeat(24_000_000) + 'A'
const CYRILLIC_KEY = 'ж'.repeat(12_000_000) + 'A'

/** The gateway's request thread's run while one /health waited (see support/request-thread-hold). */
const HELD_MS = 1_000

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
  const worst = await worstHoldDuring(gw.url, sent, gw.proc.pid)
  const answer = await sent
  expect(answer.status).toBe(400)
  expect(answer.text).toContain('case_variant_key')
  console.log(`meanwhile: ${worst}`)
  expect(worst.held).toBeLessThan(HELD_MS)
}

/** The case mappings (toLowerCase, toUpperCase) the check asks for to refuse a body with this key. */
function caseMappingsToRefuse(key: string): number {
  let mappings = 0
  const { toLowerCase, toUpperCase } = String.prototype
  String.prototype.toLowerCase = function (this: string) {
    mappings++
    return toLowerCase.call(this)
  }
  String.prototype.toUpperCase = function (this: string) {
    mappings++
    return toUpperCase.call(this)
  }
  try {
    expect(() => refuseCaseVariantKeys({ model: 'mock:gpt-mock', [key]: 1 })).toThrow('must be in lowercase')
  } finally {
    Object.assign(String.prototype, { toLowerCase, toUpperCase })
  }
  return mappings
}

test('a key of millions of characters is checked with a case mapping per distinct character, not per character', () => {
  // Each distinct character's fold (two or three mappings), and the refusal message's first 100 characters.
  expect(caseMappingsToRefuse(ASCII_KEY)).toBeLessThan(400)
  expect(caseMappingsToRefuse(CYRILLIC_KEY)).toBeLessThan(400)
})

test('a 24 MB key of one non-ASCII character and ASCII letters is refused without stalling the gateway', async () => {
  await refusedWithoutStall(ASCII_KEY)
}, 60_000)

test('a 24 MB key of 12 million non-ASCII letters is refused without stalling the gateway', async () => {
  await refusedWithoutStall(CYRILLIC_KEY)
}, 60_000)
