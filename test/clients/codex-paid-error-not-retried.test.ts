import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { binOf, clientGuideBlock, runCli, scratchDir } from '../support/clients'
import { startPaidErrorSetup, type PaidErrorSetup } from '../support/paid-error-setup'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(90_000)

/**
 * Codex CLI does not read `x-should-retry`: by default it resends a failed Responses stream call (4 request retries
 * within 5 stream retries), so a paid 502 was sent to the provider and charged 30 times, and a stream the provider
 * failed partway (`response.failed`, charged what it generated) 6 times. The README's client guide turns both off;
 * this test writes `config.toml` from the guide's block (its gateway URL and model replaced), so the two cannot drift.
 */
let setup: PaidErrorSetup
let home: ReturnType<typeof scratchDir>

beforeAll(async () => {
  setup = await startPaidErrorSetup('codex-paid')
  home = scratchDir('tollgate-codex-paid-')
})
afterAll(async () => {
  await setup?.stop()
  home?.remove()
})

/** The guide's config.toml, pointed at this gateway and its model. */
function guideConfig(): string {
  const toml = clientGuideBlock('**Codex CLI**', 'toml')
  expect(toml).toContain('[model_providers.tollgate]')
  return toml.replace(/^model = ".*"/m, 'model = "plain:m"').replace(/^base_url = ".*"/m, `base_url = "${setup.gw.url}/v1"`)
}

/** Runs `codex exec` once as the guide configures it; returns its exit code, the provider calls and the usage rows it caused. */
async function codexOnce(name: string) {
  const codexHome = join(home.path, name, 'codex')
  const work = join(home.path, name, 'work')
  mkdirSync(codexHome, { recursive: true })
  mkdirSync(work)
  writeFileSync(join(codexHome, 'config.toml'), guideConfig())
  return setup.sentAndCharged('/v1/responses', () =>
    runCli([binOf('codex'), 'exec', '--skip-git-repo-check', 'Say hello.'], {
      cwd: work,
      timeoutMs: 75_000,
      env: { HOME: home.path, CODEX_HOME: codexHome, CODEX_GATEWAY_KEY: setup.secret },
    }),
  )
}

test('codex exec: a stream call the provider answered unusably (a paid 502) is sent and charged once', async () => {
  // The provider answers the stream call 200 with a JSON body cut short: it made (and bills) the call.
  setup.upstream.answer(() => new Response('{"id":"resp_1","object":"response","output":[', { headers: { 'content-type': 'application/json' } }))
  const { result, ...seen } = await codexOnce('unusable')
  expect(result.code, result.output).not.toBe(0)
  expect(seen).toEqual({ providerCalls: 1, charged: 1 })
})

test('codex exec: a stream the provider failed partway (response.failed, charged what it generated) is sent and charged once', async () => {
  const ev = (data: Record<string, unknown>) => `event: ${String(data.type)}\ndata: ${JSON.stringify(data)}\n\n`
  const response = { id: 'resp_f', object: 'response', created_at: 1, model: 'm', output: [], status: 'in_progress' }
  setup.upstream.answer(
    () =>
      new Response(
        [
          ev({ type: 'response.created', sequence_number: 0, response }),
          ev({ type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { id: 'msg_f', type: 'message', status: 'in_progress', role: 'assistant', content: [] } }),
          ev({ type: 'response.output_text.delta', sequence_number: 2, item_id: 'msg_f', output_index: 0, content_index: 0, delta: 'Hel' }),
          ev({ type: 'response.failed', sequence_number: 3, response: { ...response, status: 'failed', error: { code: 'server_error', message: 'The model failed.' } } }),
        ].join(''),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  )
  const { result, ...seen } = await codexOnce('failed')
  expect(result.code, result.output).not.toBe(0)
  expect(seen).toEqual({ providerCalls: 1, charged: 1 })
})
