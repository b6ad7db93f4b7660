import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { billedRows, binOf, runCli, scratchDir, startClientSetup, type ClientSetup } from '../support/clients'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(30_000)

/**
 * Codex CLI (`codex exec`) with a custom model provider pointed at the gateway, configured as the README's
 * client guide says, does one tool round trip: the model asks for a shell command, Codex runs it in its
 * sandbox and sends the output back, the model answers with it. Both turns are billed to the key's user.
 */
let setup: ClientSetup
let home: ReturnType<typeof scratchDir>

beforeAll(async () => {
  setup = await startClientSetup()
  home = scratchDir('tollgate-codex-')
})
afterAll(async () => {
  await setup?.stop()
  home?.remove()
})

/** $CODEX_HOME/config.toml: the gateway as a model provider speaking the Responses API, its key read from the environment. */
function codexConfig(baseUrl: string, model: string, extra: string[]): string {
  return [
    `model = "${model}"`,
    'model_provider = "tollgate"',
    ...extra,
    '',
    '[model_providers.tollgate]',
    'name = "tollgate"',
    `base_url = "${baseUrl}/v1"`,
    'env_key = "CODEX_GATEWAY_KEY"',
    'wire_api = "responses"',
    'request_max_retries = 0',
    'stream_max_retries = 0',
    '',
  ].join('\n')
}

/** Runs `codex exec` on a prompt that makes the mock ask for `cat note.txt`; returns its output and the upstream calls. */
async function shellRoundTrip(model: string, upstreamPath: string, extraConfig: string[] = []) {
  const dir = join(home.path, model.replace(/\W/g, '-'))
  const codexHome = join(dir, 'codex')
  const work = join(dir, 'work')
  mkdirSync(codexHome, { recursive: true })
  mkdirSync(work)
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(setup.gw.url, model, extraConfig))
  writeFileSync(join(work, 'note.txt'), 'the secret word is tangerine\n')
  setup.mock.reset()
  setup.mock.options.toolCall = { name: 'exec_command', input: { cmd: 'cat note.txt' } }

  let output = ''
  const rows = await billedRows(setup, async () => {
    const result = await runCli([binOf('codex'), 'exec', '--skip-git-repo-check', 'What is the secret word in note.txt?'], {
      cwd: work,
      timeoutMs: 60_000,
      env: { HOME: dir, CODEX_HOME: codexHome, CODEX_GATEWAY_KEY: setup.secret },
    })
    output = result.output
    expect(result.code, result.output).toBe(0)
  })
  expect(output).toContain('Tool result:')
  expect(output).toContain('tangerine')
  const calls = setup.mock.calls.filter((c) => c.path === upstreamPath).map((c) => c.body as any)
  expect(calls).toHaveLength(2)
  // The second turn carried the command's output back to the model.
  expect(JSON.stringify(calls[1])).toContain('the secret word is tangerine')
  return { rows, calls }
}

test('codex exec against an OpenAI-type model: a shell command round trip, both Responses turns billed', async () => {
  // Codex offers its hosted web_search tool unless told not to; unpriced, the gateway would refuse it (402).
  const { rows, calls } = await shellRoundTrip('mock:gpt-mock', '/v1/responses', ['web_search = "disabled"'])
  expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
    ['/v1/responses', 'mock:gpt-mock', 1],
    ['/v1/responses', 'mock:gpt-mock', 1],
  ])
  for (const call of calls) expect(call.tools.map((t: { type: string }) => t.type)).not.toContain('web_search')
}, 90_000)

test('codex exec against a Claude model: the Responses API translated to Messages, hosted tools dropped, both turns billed', async () => {
  const { rows } = await shellRoundTrip('mockant:claude-mock', '/v1/messages')
  expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
    ['/v1/responses', 'mockant:claude-mock', 1],
    ['/v1/responses', 'mockant:claude-mock', 1],
  ])
}, 90_000)
