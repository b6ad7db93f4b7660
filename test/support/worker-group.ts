/**
 * A TOLLGATE_WORKERS group as its process tests run it: the primary (`bun src/index.ts`) started with a config
 * file (JSON, which is YAML) in a fresh temp folder, on a free loopback port, its output captured; at cleanup it
 * is killed if it has not ended, and the folder removed. `settings` name the group (`workers`, the grace, the
 * store, the port when it must be a given one); the helper adds only the host, a free port, the SQLite file
 * (`dbPath`, unless they name a `database_url`), and the providers and pricing of `mock` (none without one), as
 * spawnGateway does. Killing the primary ends its workers too (each stops when its stdin, the primary's, closes).
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { BUN, MASTER_KEY, ROOT, capturedOutput, mockProviders, tempDir } from './gateway'
import type { MockProvider } from './mock-provider'
import { freePort } from './free-port'
import { waitFor } from './wait-for'

export interface WorkerGroup {
  primary: Subprocess<'ignore', 'pipe', 'pipe'>
  port: number
  /** http://127.0.0.1:<port> */
  url: string
  dir: string
  /** The group's SQLite file (unused when the settings name a database_url). */
  dbPath: string
  /** Everything the primary and its workers printed so far. */
  output(): string
  /** The pids of the workers that said they serve, in the order they said it. */
  workerPids(): number[]
  /** Waits up to `ms` for `count` workers to have said they serve; says whether they did. */
  serving(count: number, ms: number): Promise<boolean>
  /** Creates the user (as the master key) and a key for it; returns the key's secret. */
  userWithKey(user: Record<string, unknown>): Promise<string>
  /** A chat completion of `max_tokens` to mock:gpt-mock with the key `secret`. */
  chat(secret: string, maxTokens: number): Promise<Response>
}

export function spawnWorkerGroup(
  settings: Record<string, unknown>,
  cleanups: Array<() => Promise<void> | void>,
  mock?: MockProvider,
): WorkerGroup {
  const port = typeof settings.port === 'number' ? settings.port : freePort()
  const dir = tempDir()
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const dbPath = join(dir, 't.db')
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(
    file,
    JSON.stringify({
      host: '127.0.0.1', port, ...(settings.database_url ? {} : { db: dbPath }),
      providers: mock ? mockProviders(mock) : {}, pricing: mock ? { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } : {},
      ...settings,
    }),
  )
  const primary = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_CONFIG: file, TOLLGATE_MASTER_KEY: MASTER_KEY },
    stdin: 'ignore', stdout: 'pipe', stderr: 'pipe',
  })
  const output = capturedOutput(primary)
  cleanups.push(async () => {
    if (primary.exitCode === null) primary.kill('SIGKILL')
    await primary.exited
  })
  const url = `http://127.0.0.1:${port}`
  const workerPids = () => [...output().matchAll(/worker (\d+) serving/g)].map((m) => Number(m[1]))
  const admin = (path: string, body: unknown) =>
    fetch(url + path, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json() as Promise<any>)
  return {
    primary, port, url, dir, dbPath, output, workerPids,
    serving: (count, ms) => waitFor(ms, () => workerPids().length === count),
    async userWithKey(user) {
      await admin('/v1/users', user)
      return (await admin('/v1/keys', { user_id: user.id })).key
    },
    chat: (secret, maxTokens) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'mock:gpt-mock', max_tokens: maxTokens, messages: [{ role: 'user', content: 'hello there' }] }),
      }),
  }
}
