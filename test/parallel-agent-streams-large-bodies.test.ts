/**
 * A coding agent (Claude Code with screenshots in its context, its sub-agents in parallel on one key) sends several
 * ~4 MB bodies whose streams last minutes. A large body counts against the read budget only while it is read, and
 * against the larger bound for bodies in flight until its stream ends: with a key's share of the read budget held
 * for whole streams, the fifth was refused 503 body_read_busy, and so were its retries for as long as the others ran.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startMockProvider, type MockProvider } from './support/mock-provider'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  // Each stream takes ~15 s, as an agent's turn does (minutes, in life).
  mock = startMockProvider({ chunks: 30, chunkDelayMs: 500 })
  gw = await startTestGateway({ mock, config: { pricing: { 'mockant:claude-mock': { input_per_million: 3, output_per_million: 15 } } } })
  secret = (await gw.userWithKey({ id: 'agent', max_budget: 100 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

/** A screenshot's worth of base64 (~1 MB), as Claude Code sends one in a tool result. */
const screenshot = () => ({ type: 'image' as const, source: { type: 'base64' as const, media_type: 'image/png' as const, data: Buffer.alloc(750_000, 7).toString('base64') } })

test('five parallel agent streams of ~4 MB bodies on one key (the default read budget) are all served', async () => {
  const client = new Anthropic({ apiKey: secret, baseURL: gw.url, maxRetries: 2 })
  const turn = (i: number) =>
    client.messages
      .stream({
        model: 'mockant:claude-mock',
        max_tokens: 256,
        messages: [{ role: 'user', content: [{ type: 'text', text: `sub-agent ${i}: compare these` }, screenshot(), screenshot(), screenshot(), screenshot()] }],
      })
      .finalMessage()
      .then(() => 'ok', (e: any) => `${e?.status} ${e?.error?.error?.type ?? ''} ${String(e?.message).slice(0, 80)}`)
  const results = await Promise.all([0, 1, 2, 3, 4].map(turn))
  expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
}, 60_000)
