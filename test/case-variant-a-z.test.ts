/**
 * Mutation guard: a capital A or Z in a key is a case variant like any other. The existing tests'
 * keys (`Model`, `N`, `MAX_TOKENS`…) each hold some capital between B and Y, so an off-by-one in the ASCII range
 * check (`c > 0x41`, `c < 0x5a`) passed them all, and let `mAx_tokens` (which Go's encoding/json reads as
 * `max_tokens`, last key winning) through beside the `max_tokens` the gateway priced: the hold covers 1 token, the
 * Go server writes 4,000.
 */
import { expect, test } from 'bun:test'
import { GatewayError } from '../src/http/errors'
import { refuseCaseVariantKeys } from '../src/http/case-variant-keys'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

const refusal = (body: unknown): GatewayError | null => {
  try {
    refuseCaseVariantKeys(body)
    return null
  } catch (error) {
    if (error instanceof GatewayError) return error
    throw error
  }
}

test('a key holding a capital A or Z is refused; the characters either side of the capitals ("@", "[") are not letters and pass', () => {
  for (const key of ['A', 'Z', 'mAx_tokens', 'siZe', 'Audio']) {
    expect({ key, code: refusal({ model: 'm', [key]: 1 })?.code }).toEqual({ key, code: 'case_variant_key' })
  }
  for (const key of ['@', '[', '`', '{', 'a@[`{']) {
    expect({ key, refused: refusal({ model: 'm', [key]: 1 }) }).toEqual({ key, refused: null })
  }
})

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (s) => ({ upstream, gw } = s))

test('chat: `mAx_tokens` beside the priced `max_tokens` is refused 400 before any hold or upstream call', async () => {
  const { secret } = await gw.userWithKey({ id: 'case-variant-a', max_budget: 1 })
  upstream.answer(() => jsonResponse({}))
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: `{"model":"plain:m","messages":[{"role":"user","content":"hi"}],"max_tokens":1,"mAx_tokens":4000}`,
  })
  const answer = (await res.json()) as { error: { code: string; message: string } }
  expect({ status: res.status, code: answer.error?.code }).toEqual({ status: 400, code: 'case_variant_key' })
  expect(answer.error.message).toStartWith('Invalid body: mAx_tokens: ')
  expect(upstream.calls).toHaveLength(0)
})
