/**
 * With cap-output on, `spend <= max_budget` is an invariant (SPEC §6), and the estimate bounds input by "the UTF-8
 * byte length of all text the request sends". Ollama's /v1/embeddings decodes with Go's encoding/json (the `input`
 * tag matched ignoring case, the last matching key winning): an `Input` key after `input` is what the server embeds
 * and bills, here 200 KB beside the 2 bytes of `input`.
 */
import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { goField } from './support/go-json'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  { pricing: { 'plain:embed': { input_per_million: 1, output_per_million: 0 } }, cap_output_tokens: true },
  (s) => ({ upstream, gw } = s),
)

test('cap-output on: an embeddings request cannot make the server embed (and bill) input its hold did not count', async () => {
  // $0.001 = 1,000 µ$: room for 1,000 input tokens at $1 per million.
  const { secret } = await gw.userWithKey({ id: 'embed-case', max_budget: 0.001 })
  upstream.answer(({ body }) => {
    // One token a byte, as a server with a byte-level tokenizer may bill.
    const tokens = Buffer.byteLength(String(goField(body, 'input')))
    return jsonResponse({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model: 'embed', usage: { prompt_tokens: tokens, total_tokens: tokens } })
  })
  const res = await fetch(`${gw.url}/v1/embeddings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'plain:embed', input: 'hi', Input: 'x'.repeat(200_000) }),
  })
  await res.text()
  await gw.settled()
  const user = (await gw.admin('GET', '/v1/users/embed-case')).body
  expect(user.reserved).toBe(0)
  expect(user.spend).toBeLessThanOrEqual(user.max_budget)
})
