import { afterAll, beforeAll, expect, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { billedRows, binOf, runCli, scratchDir, startClientSetup, type ClientSetup } from '../support/clients'

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
function codexConfig(baseUrl: string): string {
  return [
    'model = "mock:gpt-mock"',
    'model_provider = "tollgate"',
    '',
    '[model_providers.tollgate]',
    'name = "tollgate"',
    `base_url = "${baseUrl}/v1"`,
    'env_key = "TOLLGATE_API_KEY"',
    'wire_api = "responses"',
    '',
  ].join('\n')
}

test('codex exec runs a shell command the model asks for, each turn billed', async () => {
  const codexHome = join(home.path, 'codex')
  const work = join(home.path, 'work')
  mkdirSync(codexHome)
  mkdirSync(work)
  writeFileSync(join(codexHome, 'config.toml'), codexConfig(setup.gw.url))
  writeFileSync(join(work, 'note.txt'), 'the secret word is tangerine\n')
  setup.mock.options.toolCall = { name: 'exec_command', input: { cmd: 'cat note.txt' } }

  let result = { code: null as number | null, output: '' }
  const rows = await billedRows(setup, async () => {
    result = await runCli([binOf('codex'), 'exec', '--skip-git-repo-check', 'What is the secret word in note.txt?'], {
      cwd: work,
      timeoutMs: 60_000,
      env: { HOME: home.path, CODEX_HOME: codexHome, TOLLGATE_API_KEY: setup.secret },
    })
    expect(result.code, result.output).toBe(0)
  })

  expect(result.output).toContain('Tool result:')
  expect(result.output).toContain('tangerine')
  expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
    ['/v1/responses', 'mock:gpt-mock', 1],
    ['/v1/responses', 'mock:gpt-mock', 1],
  ])
  // The second turn carried the command's output back to the model.
  const calls = setup.mock.calls.filter((c) => c.path === '/v1/responses')
  expect(calls).toHaveLength(2)
  expect(JSON.stringify(calls[1]!.body)).toContain('the secret word is tangerine')
}, 90_000)
