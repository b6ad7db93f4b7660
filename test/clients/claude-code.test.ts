import { afterAll, beforeAll, expect, test } from 'bun:test'
import { join } from 'node:path'
import { billedRows, binOf, runCli, scratchDir, startClientSetup, type ClientSetup } from '../support/clients'

/**
 * Claude Code (`claude -p`), configured as the README's client guide says, does one tool round trip:
 * the model asks for its Read tool on a file in a temp folder, Claude Code reads it and sends the result
 * back, the model answers with it. Both turns are metered and billed to the key's user.
 */
let setup: ClientSetup
let home: ReturnType<typeof scratchDir>

beforeAll(async () => {
  // Claude Code always sends metadata.user_id (a session tag): its key bills its own user and forwards the tag.
  setup = await startClientSetup({ key: { user_field: 'tag' } })
  home = scratchDir('tollgate-claude-')
})
afterAll(async () => {
  await setup?.stop()
  home?.remove()
})

test('claude -p reads a file through its Read tool, each turn billed', async () => {
  const work = join(home.path, 'work')
  const note = join(work, 'note.txt')
  await Bun.write(note, 'the secret word is tangerine\n')
  setup.mock.options.toolCall = { name: 'Read', input: { file_path: note } }

  let result = { code: null as number | null, output: '' }
  const rows = await billedRows(setup, async () => {
    result = await runCli([binOf('claude'), '-p', 'What is the secret word in note.txt?', '--allowedTools', 'Read'], {
      cwd: work,
      timeoutMs: 60_000,
      env: {
        HOME: home.path,
        CLAUDE_CONFIG_DIR: join(home.path, '.claude'),
        ANTHROPIC_BASE_URL: setup.gw.url,
        ANTHROPIC_API_KEY: setup.secret,
        ANTHROPIC_MODEL: 'mockant:claude-mock',
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      },
    })
    expect(result.code, result.output).toBe(0)
  })

  expect(result.output).toContain('tangerine')
  expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
    ['/v1/messages', 'mockant:claude-mock', 1],
    ['/v1/messages', 'mockant:claude-mock', 1],
  ])
  // The second turn carried the file's content back to the model.
  const calls = setup.mock.calls.filter((c) => c.path === '/v1/messages')
  expect(calls).toHaveLength(2)
  expect(JSON.parse((calls[0]!.body as any).metadata.user_id)).toHaveProperty('session_id')
  expect(JSON.stringify(calls[1]!.body)).toContain('the secret word is tangerine')
}, 90_000)
