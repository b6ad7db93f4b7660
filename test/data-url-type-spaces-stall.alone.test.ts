import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { worstHealthDuring } from './support/health-during'
import { jsonResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Whether a data URL's declared type leaves its kind to its bytes (src/budget/part-media.ts `leftToBytes`) was asked
 * with `/^\s*(application\/octet-stream)?\s*$/i`: a type of n spaces and then anything was tried at every split of
 * the run, O(n²) on the request thread (10,000 spaces 389 ms, 40,000 5.8 s). One chat image part of ~40 kB held
 * every other request of the gateway for seconds, before any price, hold or provider was involved. The bound is
 * 5 ms of the request thread per kB of body.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway({ pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } }, (started) => ({ upstream, gw } = started))

test('a data URL whose declared type is 40,000 spaces and a letter does not hold the request thread for seconds', async () => {
  const { secret } = await gw.userWithKey({ id: 'data-url-spaces', max_budget: 5 })
  upstream.answer(() =>
    jsonResponse({ id: 'c1', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } }),
  )
  const url = `data:${' '.repeat(40_000)}x;base64,AAAA`
  const body = JSON.stringify({ model: 'plain:m', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url } }] }] })
  const kB = body.length / 1024
  const started = performance.now()
  const sent = fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body }).then(
    async (res) => ({ status: res.status, text: await res.text() }),
  )
  const worst = await worstHealthDuring(gw.url, sent)
  const answer = await sent
  const took = performance.now() - started
  expect(answer.status).toBeLessThan(500)
  // ~39 kB: ~200 ms, with room for a busy machine.
  expect(worst).toBeLessThan(Math.max(300, 5 * kB * 1.5))
  expect(took).toBeLessThan(1_000)
})
