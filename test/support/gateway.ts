/**
 * Test harness: a real gateway on a loopback port with a real SQLite file in a fresh temp folder,
 * in this process (`startTestGateway`) or as a child process (`spawnGateway`, for startup checks,
 * several processes on one file, and kill -9). With TOLLGATE_TEST_DATABASE_URL set, a Postgres database
 * stands for each SQLite file (test/support/test-store.ts): the same suites run on the Postgres store.
 */
import { Database } from 'bun:sqlite'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Subprocess } from 'bun'
import { configSchema } from '../../src/config/schema'
import { startGateway } from '../../src/server'
import type { MockProvider } from './mock-provider'
import { databaseFor, dumpPostgres, execPostgres, queryPostgres, TEST_DATABASE_URL } from './test-store'

export const MASTER_KEY = 'test-master-key-0123456789abcdef-0123456789'
export const BUN = process.execPath
export const ROOT = join(import.meta.dir, '..', '..')

export const tempDir = (prefix = 'tollgate-test-') => mkdtempSync(join(tmpdir(), prefix))

/** Config for a gateway whose provider `mock` is the given mock (OpenAI type) and `mockant` (Anthropic type). */
export function mockProviders(mock: MockProvider) {
  return {
    mock: { type: 'openai' as const, base_url: `${mock.url}/v1`, api_key: 'sk-upstream-secret-0123456789' },
    mockant: { type: 'anthropic' as const, base_url: mock.url, api_key: 'sk-ant-upstream-secret-0123456789' },
  }
}

export interface GatewayOptions {
  mock?: MockProvider
  /** Raw config values (the file's and env's names, snake_case), over the test defaults. */
  config?: Record<string, unknown>
  /** Bun's idle timeout for the in-process server, in seconds. */
  idleTimeoutSec?: number
}

export interface TestGateway {
  url: string
  dbPath: string
  /** Headers carrying the master key. */
  master: Record<string, string>
  /** JSON request with the master key; returns status and parsed body. */
  admin<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Headers }>
  /** Creates a user (with these fields) and a key for it; returns the key's secret and id. */
  userWithKey(user: Record<string, unknown>, key?: Record<string, unknown>): Promise<{ secret: string; keyId: string }>
  /** Waits until every finished request's settlement is written (admin reads flush the write queue). */
  settled(): Promise<void>
  /** A read-only connection to the gateway's database file (for checks the API does not expose). */
  query<T = any>(sql: string, ...params: any[]): T[]
  /** A write behind the gateway's back (a clock moved, a row aged), on whichever store it runs. */
  exec(sql: string, ...params: any[]): void
  /** The Postgres database standing for the file, when the suites run on Postgres (test/support/test-store.ts). */
  databaseUrl?: string
  /** Everything stored, as bytes: the SQLite file and its WAL, or a dump of the Postgres database. */
  storedBytes(): Buffer
  stop(): Promise<void>
}

export function testConfig(options: GatewayOptions, dir: string) {
  return configSchema.parse({
    master_key: MASTER_KEY,
    port: 0,
    db: join(dir, 'tollgate.db'),
    providers: options.mock ? mockProviders(options.mock) : {},
    pricing: options.mock ? { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } : {},
    // One JSON line per request would bury the test runner's own output.
    log_level: 'warn',
    ...options.config,
  })
}

export async function startTestGateway(options: GatewayOptions = {}): Promise<TestGateway> {
  const dir = tempDir()
  const config = testConfig(options, dir)
  if (TEST_DATABASE_URL && !options.config?.database_url) config.database_url = await databaseFor(config.db)
  const gateway = await startGateway(config, { idleTimeoutSec: options.idleTimeoutSec })
  return harness(gateway.url, config.db, config.database_url, async () => {
    await gateway.stop()
    rmSync(dir, { recursive: true, force: true })
  })
}

function harness(url: string, dbPath: string, databaseUrl: string | undefined, stop: () => Promise<void>): TestGateway {
  const master = { authorization: `Bearer ${MASTER_KEY}` }
  let reader: Database | null = null
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...master, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers }
  }
  return {
    url,
    dbPath,
    databaseUrl,
    master,
    admin,
    async userWithKey(user, key = {}) {
      const u = await admin('POST', '/v1/users', user)
      if (u.status !== 201) throw new Error(`user create failed: ${u.status} ${JSON.stringify(u.body)}`)
      const k = await admin('POST', '/v1/keys', { user_id: user.id, ...key })
      if (k.status !== 201) throw new Error(`key create failed: ${k.status} ${JSON.stringify(k.body)}`)
      return { secret: k.body.key, keyId: k.body.id }
    },
    async settled() {
      // On Postgres, the request log and refusal counts are batched apart from settlements: the audit read writes them all.
      await admin('GET', databaseUrl ? '/v1/audit?limit=1' : '/v1/users?limit=1')
    },
    query(sql, ...params) {
      if (databaseUrl) return queryPostgres(databaseUrl, sql, params)
      reader ??= new Database(dbPath, { readonly: true })
      return reader.query(sql).all(...params) as any[]
    },
    exec(sql, ...params) {
      if (databaseUrl) return execPostgres(databaseUrl, sql, params)
      const db = new Database(dbPath)
      try {
        // The gateway's own writes (its write lane, its checkpoints) hold the file's write lock for moments at a time.
        db.run('PRAGMA busy_timeout = 5000')
        db.run(sql, params)
      } finally {
        db.close()
      }
    },
    storedBytes() {
      if (databaseUrl) return dumpPostgres(databaseUrl)
      return Buffer.concat([dbPath, dbPath + '-wal'].filter((f) => existsSync(f)).map((f) => readFileSync(f)))
    },
    async stop() {
      reader?.close()
      await stop()
    },
  }
}

export interface SpawnedGateway extends TestGateway {
  proc: Subprocess<'ignore', 'pipe', 'pipe'>
  /** Everything the process printed so far. */
  output(): string
}

/** Everything a child process writes to stdout and stderr, as it arrives: call the result for the text so far. */
export function capturedOutput(proc: { stdout: ReadableStream<Uint8Array>; stderr: ReadableStream<Uint8Array> }): () => string {
  let out = ''
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    for await (const chunk of stream) out += decoder.decode(chunk, { stream: true })
  }
  void pump(proc.stdout)
  void pump(proc.stderr)
  return () => out
}

/** Writes the config as YAML-compatible JSON (JSON is valid YAML) and starts `bun src/index.ts` with it. */
export async function spawnGateway(
  options: GatewayOptions & { env?: Record<string, string>; dbPath?: string } = {},
): Promise<SpawnedGateway> {
  const dir = tempDir()
  const dbPath = options.dbPath ?? join(dir, 'tollgate.db')
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(
    file,
    JSON.stringify({
      providers: options.mock ? mockProviders(options.mock) : {},
      pricing: options.mock ? { 'mock:gpt-mock': { input_per_million: 1, output_per_million: 2 } } : {},
      ...options.config,
    }),
  )
  const databaseUrl = options.env?.TOLLGATE_DATABASE_URL ?? (TEST_DATABASE_URL ? await databaseFor(dbPath) : undefined)
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      TOLLGATE_CONFIG: file,
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_PORT: '0',
      TOLLGATE_DB: dbPath,
      ...(databaseUrl ? { TOLLGATE_DATABASE_URL: databaseUrl } : {}),
      ...options.env,
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const out = capturedOutput(proc)
  const deadline = Date.now() + 15_000
  let url: string | undefined
  while (!url) {
    url = /listening on (http:\/\/\S+)/.exec(out())?.[1]
    if (url) break
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      throw new Error(`gateway did not start (exit ${proc.exitCode}):\n${out()}`)
    }
    await Bun.sleep(20)
  }
  const h = harness(url, dbPath, databaseUrl, async () => {
    if (proc.exitCode === null) {
      proc.kill('SIGTERM')
      await proc.exited
    }
    // The caller's own database (dbPath) lives elsewhere and is the caller's to remove.
    rmSync(dir, { recursive: true, force: true })
  })
  return Object.assign(h, { proc, output: out })
}

/** Runs `bun src/index.ts` with exactly this environment and returns how it ended (for startup refusals). */
export async function runGatewayExpectingExit(env: Record<string, string>, timeoutMs = 10_000) {
  const cwd = tempDir()
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    cwd,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_PORT: '0', TOLLGATE_DB: ':memory:', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs)
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  clearTimeout(timer)
  rmSync(cwd, { recursive: true, force: true })
  return { code, output: stdout + stderr }
}
