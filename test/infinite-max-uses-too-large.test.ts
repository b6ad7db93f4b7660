import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A server tool's bound is read from the body as any integer (`positiveInt`, src/pricing/body-values.ts): JSON's
 * `1e308` is one. The hold multiplies it by the per-use input allowance (src/pricing/price.ts `heldInputTokens`),
 * which overflows to Infinity; `charge` prices a count past every double as the most a request may cost, so such a
 * request is refused as too large to hold (400 `estimate_too_large`), as `max_uses: 1e300` is: no 500, no hold, no call.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { web_search: 0.01 } } } },
  (s) => ({ upstream, gw } = s),
)

const ask = (secret: string, maxUses: string) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json' },
    // Written by hand: JSON.stringify would write 1e308 as 1e+308, which is the same number.
    body: `{"model":"ant:m","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":${maxUses}}]}`,
  })

test('max_uses 1e300 and 1e308 are both refused as too large to hold (400), never a 500; nothing is sent upstream', async () => {
  const { secret } = await gw.userWithKey({ id: 'rt-ch-inf', max_budget: 10 })
  const large = await ask(secret, '1e300')
  const overflowing = await ask(secret, '1e308')
  const bodies = [await large.json(), await overflowing.json()]
  expect({ large: large.status, overflowing: overflowing.status, calls: upstream.calls.length, bodies }).toMatchObject({ large: 400, overflowing: 400, calls: 0 })
})
