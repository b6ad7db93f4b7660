/**
 * What every real-client test starts from (test/clients/): the mock provider, a gateway in front of it
 * with the settings the README's client guide gives, one budgeted user with a key, and the checks that
 * what the client did was metered and billed to that user.
 */
import { expect } from 'bun:test'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider, type MockProvider } from './mock-provider'
import { capturedOutput, ROOT, startTestGateway, tempDir, type TestGateway } from './gateway'

/** Prices of the models the clients are pointed at (whole micro-USD per token), so every request costs something. */
export const CLIENT_PRICING = {
  'mock:gpt-mock': { input_per_million: 2, cached_input_per_million: 1, output_per_million: 8 },
  'mockant:claude-mock': { input_per_million: 3, cached_input_per_million: 1, output_per_million: 15 },
}
export const USER_ID = 'dev-team'
/** Enough for the clients' worst-case holds (the AI SDK's Anthropic provider asks max_tokens 128000: $1.92 at these prices). */
const BUDGET_USD = 25

export interface ClientSetup {
  mock: MockProvider
  gw: TestGateway
  /** The virtual key the client is given. */
  secret: string
  keyId: string
  stop(): Promise<void>
}

export async function startClientSetup(
  options: { key?: Record<string, unknown>; budgetUsd?: number } = {},
): Promise<ClientSetup> {
  const mock = startMockProvider()
  // Default gateway settings: all a client needs is on its key, as the client guide says.
  const gw = await startTestGateway({ mock, config: { pricing: CLIENT_PRICING } })
  const budget = options.budgetUsd ?? BUDGET_USD
  const { secret, keyId } = await gw.userWithKey({ id: USER_ID, max_budget: budget }, { name: 'client', ...options.key })
  return {
    mock,
    gw,
    secret,
    keyId,
    async stop() {
      await gw.stop()
      await mock.stop()
    },
  }
}

export interface BilledRow {
  endpoint: string
  model: string
  status: string
  stream: number
  prompt_tokens: number
  completion_tokens: number
  cost: number
}

/**
 * Runs what a client does and returns the usage rows it wrote, after checking that each row is billed to
 * the key and its user and cost something, that the user's spend moved by exactly their sum, and that
 * nothing is left reserved or held.
 */
export async function billedRows(setup: ClientSetup, run: () => Promise<void>): Promise<BilledRow[]> {
  const { gw, keyId } = setup
  await gw.settled()
  const before = (await gw.admin('GET', `/v1/users/${USER_ID}`)).body
  const lastId = gw.query('SELECT coalesce(max(id), 0) AS id FROM usage')[0].id
  await run()
  await gw.settled()
  const after = (await gw.admin('GET', `/v1/users/${USER_ID}`)).body
  const rows = gw.query<BilledRow & { user_id: string; key_id: string }>(
    'SELECT user_id, key_id, endpoint, model, status, stream, prompt_tokens, completion_tokens, cost FROM usage WHERE id > ? ORDER BY id',
    lastId,
  )
  expect(rows.length).toBeGreaterThan(0)
  for (const row of rows) {
    expect({ user: row.user_id, key: row.key_id, status: row.status }).toEqual({ user: USER_ID, key: keyId, status: 'ok' })
    expect(row.cost).toBeGreaterThan(0)
  }
  expect(Math.round((after.spend - before.spend) * 1e6)).toBe(rows.reduce((sum, r) => sum + r.cost, 0))
  expect(after.reserved).toBe(0)
  expect(gw.query('SELECT count(*) AS n FROM reservations')[0].n).toBe(0)
  return rows.map(({ user_id: _u, key_id: _k, ...row }) => row)
}

/** A throwaway folder (a client's HOME, config or work dir), removed by the returned function. */
export function scratchDir(prefix: string): { path: string; remove(): void } {
  const path = tempDir(prefix)
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) }
}

export const binOf = (name: string) => join(ROOT, 'node_modules', '.bin', name)

/**
 * The first code block in `lang` after `lead` in the README's client guide (its `**Codex CLI**` paragraph, say):
 * what an operator copies, so that a test configured from it and the guide cannot drift apart.
 */
export function clientGuideBlock(lead: string, lang: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  const guide = readme.slice(readme.indexOf('## Client guide'))
  const from = guide.indexOf(lead)
  if (from === -1) throw new Error(`README's client guide has no ${lead}`)
  const block = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(guide.slice(from))
  if (!block) throw new Error(`README's client guide has no ${lang} block after ${lead}`)
  return block[1]!
}

/**
 * Runs a client's command line with exactly this environment (nothing inherited but PATH: no vendor key
 * or setting of the machine's can leak in), no standard input, and a deadline after which it is killed.
 */
export async function runCli(
  argv: string[],
  options: { env: Record<string, string>; cwd: string; timeoutMs: number },
): Promise<{ code: number | null; output: string }> {
  const proc = Bun.spawn(argv, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const output = capturedOutput(proc)
  const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs)
  const code = await proc.exited
  clearTimeout(timer)
  return { code: proc.signalCode ? null : code, output: output() }
}

/**
 * Runs `claude -p <prompt>` once as the client guide configures it (the gateway's URL, the key, the model;
 * telemetry, auto-update and other traffic off), in a HOME and a work folder of its own, both removed after.
 */
export async function claudeOnce(options: {
  url: string
  secret: string
  model: string
  prompt: string
  /** More of Claude Code's settings, as the guide gives them. */
  env?: Record<string, string>
}): Promise<{ code: number | null; output: string }> {
  const home = scratchDir('tollgate-claude-once-')
  const work = scratchDir('tollgate-claude-once-work-')
  try {
    return await runCli([binOf('claude'), '-p', options.prompt], {
      cwd: work.path,
      timeoutMs: 60_000,
      env: {
        HOME: home.path,
        CLAUDE_CONFIG_DIR: join(home.path, '.claude'),
        ANTHROPIC_BASE_URL: options.url,
        ANTHROPIC_API_KEY: options.secret,
        ANTHROPIC_MODEL: options.model,
        DISABLE_TELEMETRY: '1',
        DISABLE_AUTOUPDATER: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        ...options.env,
      },
    })
  } finally {
    home.remove()
    work.remove()
  }
}
