import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { claudeOnce, clientGuideBlock } from '../support/clients'
import { startPaidErrorSetup, type PaidErrorSetup } from '../support/paid-error-setup'
import { sseResponse } from '../support/scripted-upstream'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(90_000)

/**
 * Claude Code reads `x-should-retry`, so a paid 502 is not resent; but by default a stream that fails partway (an
 * `error` event, or cut short) is sent again as one unstreamed call, a second generation the provider bills in full,
 * and the gateway charged both. The README's client guide turns that fallback off; this test runs Claude Code with
 * the guide's exported settings (its gateway URL, key and model replaced), so the two cannot drift apart.
 */
let setup: PaidErrorSetup

beforeAll(async () => {
  setup = await startPaidErrorSetup('claude-paid', { user_field: 'tag' })
})
afterAll(() => setup?.stop())

/** The variables the guide's Claude Code block exports, but those that point it at a gateway (the test's own). */
function guideSettings(): Record<string, string> {
  const exports = clientGuideBlock('**Claude Code**', 'sh')
    .split('\n')
    .filter((line) => line.startsWith('export '))
    .flatMap((line) => line.replace(/#.*/, '').trim().split(/\s+/).slice(1))
    .map((assignment) => assignment.split('=') as [string, string])
    .filter(([name]) => !name.startsWith('ANTHROPIC_'))
  expect(exports.length).toBeGreaterThan(0)
  return Object.fromEntries(exports)
}

/** Runs `claude -p` once with the guide's settings; returns how it ended, the provider calls and the usage rows it caused. */
const claudeCodeOnce = () =>
  setup.sentAndCharged('/v1/messages', () =>
    claudeOnce({ url: setup.gw.url, secret: setup.secret, model: 'ant:m', prompt: 'Say hello.', env: guideSettings() }),
  )

const ev = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`
const partway = [
  ev({ type: 'message_start', message: { id: 'msg_f', type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } }),
  ev({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  ev({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hel' } }),
]

test('claude -p: a stream call the provider answered unusably (a paid 502) is sent and charged once', async () => {
  setup.upstream.answer(() => new Response('{"id":"msg_1","type":"message","content":[', { headers: { 'content-type': 'application/json' } }))
  const { result, ...seen } = await claudeCodeOnce()
  expect(result.code, result.output).not.toBe(0)
  expect(seen).toEqual({ providerCalls: 1, charged: 1 })
})

test('claude -p: a stream the provider failed partway (an error event, charged what it generated) is sent and charged once', async () => {
  setup.upstream.answer(() => sseResponse([...partway, ev({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })]))
  const { result, ...seen } = await claudeCodeOnce()
  expect(result.code, result.output).not.toBe(0)
  expect(seen).toEqual({ providerCalls: 1, charged: 1 })
})

test('claude -p: a stream cut short partway (charged its hold) is sent and charged once', async () => {
  setup.upstream.answer(() => sseResponse(partway))
  const { result, ...seen } = await claudeCodeOnce()
  expect(result.code, result.output).not.toBe(0)
  expect(seen).toEqual({ providerCalls: 1, charged: 1 })
})
