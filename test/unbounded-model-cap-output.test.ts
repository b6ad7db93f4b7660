import { describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Perplexity's sonar-deep-research runs as many searches as it decides (74 in one real answer, each billed) and
 * reports reasoning outside its output count: nothing in a request bounds what it costs. With cap-output on
 * (`spend <= max_budget` always) it cannot be held for, so it is refused before any hold or call; with it off
 * it is served and billed from its usage.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: { 'plain:sonar-deep-research': { input_per_million: 2, output_per_million: 8, server_tools: { web_search: 0.005 } } },
  },
  (s) => ({ upstream, gw } = s),
)

describe('a model whose cost nothing in the request bounds, with cap-output on', () => {
  test('sonar-deep-research: 400 feature_unsupported, nothing held, no upstream call', async () => {
    upstream.answer(() => jsonResponse({}))
    const { secret } = await gw.userWithKey({ id: 'deep', max_budget: 1 })
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:sonar-deep-research', max_tokens: 100, messages: [{ role: 'user', content: 'research' }] }),
    })
    expect(res.status).toBe(400)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('feature_unsupported')
    expect(upstream.calls.length).toBe(0)
    await gw.settled()
    expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
  })
})
