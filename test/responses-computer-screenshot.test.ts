import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * A Responses `computer_call_output` item returns a screenshot to the model: `output: {type:
 * "computer_screenshot", image_url | file_id}`. The provider reads it as an image input, billed by its pixels,
 * so it is held as an image part: at least the configured media bound (SPEC §6), since by URL or file id its
 * bytes are not in the request. With cap-output on, `spend <= max_budget`. Rates: 1 and 2 µ$ a token; media
 * bound 2,000 tokens.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  {
    pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } },
    cap_output_tokens: true,
    default_max_output_tokens: 64,
    media_part_tokens: 2000,
  },
  (started) => ({ upstream, gw } = started),
)

const post = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** A computer-use loop of `n` steps sent back whole (store: false), every screenshot by URL or by file id. */
const screenshots = (n: number, by: 'url' | 'file_id') =>
  Array.from({ length: n }, (_, i) => [
    { type: 'computer_call', id: `cu_${i}`, call_id: `call_${i}`, action: { type: 'screenshot' }, pending_safety_checks: [], status: 'completed' },
    { type: 'computer_call_output', call_id: `call_${i}`, output: by === 'url' ? { type: 'computer_screenshot', image_url: `https://example.com/shot-${i}.png` } : { type: 'computer_screenshot', file_id: `file-shot${i}` } },
  ]).flat()

describe('a computer_call_output screenshot is an image part: held at the media bound', () => {
  for (const by of ['url', 'file_id'] as const)
    test(`10 screenshots by ${by}: held at 10 × 2,000 tokens at least, so 5,000 µ$ of budget cannot buy 18,000 tokens of them (cap-output on)`, async () => {
      const id = `shots-${by.replace('_', '-')}`
      const { secret } = await gw.userWithKey({ id, max_budget: 0.005 })
      // The provider reads each screenshot as an image: ~1,800 tokens each.
      upstream.answer(() => jsonResponse({
        id: `resp_${id}`, object: 'response', status: 'completed', model: 'm',
        usage: { input_tokens: 18_040, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 18_056 },
        output: [{ type: 'message', id: `msg_${id}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done', annotations: [] }] }],
      }))
      const res = await post(secret, {
        model: 'plain:m', store: false, max_output_tokens: 16, truncation: 'auto',
        tools: [{ type: 'computer_use_preview', display_width: 1024, display_height: 768, environment: 'browser' }],
        input: [{ role: 'user', content: 'Open the page' }, ...screenshots(10, by)],
      })
      await res.text()
      await gw.settled()
      const user = (await gw.admin('GET', `/v1/users/${id}`)).body
      // Before the fix each screenshot was held at its ~100 bytes of JSON: served, spend 0.018072 of 0.005.
      expect(user.spend).toBeLessThanOrEqual(user.max_budget)
      expect(res.status).toBe(402)
      expect(upstream.calls.length).toBe(0)
    })
})
