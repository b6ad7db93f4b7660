import { afterAll, beforeAll, expect, setDefaultTimeout, test } from 'bun:test'
import { join } from 'node:path'
import { billedRows, binOf, runCli, scratchDir, startClientSetup, type BilledRow, type ClientSetup } from '../support/clients'

// Real clients on a busy machine: more room than bun's 5 s default (bunfig has no test timeout setting).
setDefaultTimeout(30_000)

/**
 * Claude Code (`claude -p`), configured as the README's client guide says, does one tool round trip:
 * the model asks for its Read tool on a file in a temp folder, Claude Code reads it and sends the result
 * back, the model answers with it. Both turns are metered and billed to the key's user.
 */
let home: ReturnType<typeof scratchDir>

beforeAll(() => {
  home = scratchDir('tollgate-claude-')
})
afterAll(() => home?.remove())

/** Runs `claude -p` against the setup's gateway on a prompt that makes the mock ask for a Read of a file. */
async function readRoundTrip(
  setup: ClientSetup,
  keyVariable: 'ANTHROPIC_API_KEY' | 'ANTHROPIC_AUTH_TOKEN' = 'ANTHROPIC_API_KEY',
): Promise<{ output: string; rows: BilledRow[] }> {
  const work = scratchDir('tollgate-claude-work-')
  const note = join(work.path, 'note.txt')
  await Bun.write(note, 'the secret word is tangerine\n')
  setup.mock.options.toolCall = { name: 'Read', input: { file_path: note } }
  let output = ''
  try {
    const rows = await billedRows(setup, async () => {
      const result = await runCli([binOf('claude'), '-p', 'What is the secret word in note.txt?', '--allowedTools', 'Read'], {
        cwd: work.path,
        timeoutMs: 60_000,
        env: {
          HOME: home.path,
          CLAUDE_CONFIG_DIR: join(home.path, '.claude'),
          ANTHROPIC_BASE_URL: setup.gw.url,
          [keyVariable]: setup.secret,
          ANTHROPIC_MODEL: 'mockant:claude-mock',
          DISABLE_TELEMETRY: '1',
          DISABLE_AUTOUPDATER: '1',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        },
      })
      output = result.output
      expect(result.code, result.output).toBe(0)
    })
    return { output, rows }
  } finally {
    work.remove()
  }
}

const upstreamMessages = (setup: ClientSetup) => setup.mock.calls.filter((c) => c.path === '/v1/messages').map((c) => c.body as any)

test('claude -p reads a file through its Read tool, each turn billed', async () => {
  // Claude Code always sends metadata.user_id (a session tag): its key bills its own user and forwards the tag.
  const setup = await startClientSetup({ key: { user_field: 'tag' } })
  try {
    const { output, rows } = await readRoundTrip(setup)
    expect(output).toContain('tangerine')
    expect(rows.map((r) => [r.endpoint, r.model, r.stream])).toEqual([
      ['/v1/messages', 'mockant:claude-mock', 1],
      ['/v1/messages', 'mockant:claude-mock', 1],
    ])
    const calls = upstreamMessages(setup)
    expect(calls).toHaveLength(2)
    expect(JSON.parse(calls[0].metadata.user_id)).toHaveProperty('session_id')
    // The second turn carried the file's content back to the model.
    expect(JSON.stringify(calls[1])).toContain('the secret word is tangerine')
  } finally {
    await setup.stop()
  }
}, 90_000)

test('with the output clamp, a $0.50 user can use Claude Code: max_tokens 32000 is lowered to what the budget covers', async () => {
  // 32000 output tokens at $15/M alone would hold $0.48, on top of ~76 KB of input.
  const setup = await startClientSetup({ budgetUsd: 0.5, key: { user_field: 'tag', clamp_output: true } })
  try {
    // The key as a bearer token this time (no ANTHROPIC_API_KEY, so Authorization instead of x-api-key).
    const { output, rows } = await readRoundTrip(setup, 'ANTHROPIC_AUTH_TOKEN')
    expect(output).toContain('tangerine')
    expect(rows).toHaveLength(2)
    const calls = upstreamMessages(setup)
    expect(calls).toHaveLength(2)
    for (const call of calls) expect(call.max_tokens).toBeLessThan(32000)
    const user = (await setup.gw.admin('GET', '/v1/users/dev-team')).body
    expect(user.spend).toBeLessThanOrEqual(0.5)
  } finally {
    await setup.stop()
  }
}, 90_000)
