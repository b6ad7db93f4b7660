/**
 * The gateway serves from the moment it listens, before `gateway.ready` (up to 1 s spent waiting for a Redis
 * that does not answer, src/redis/link.ts START_WAIT_MS). A SIGTERM or SIGINT in that window (a deploy rolled
 * back at once, a TOLLGATE_WORKERS group stopped while a worker it restarted still waits on Redis: SO_REUSEPORT
 * sends a worker connections as soon as it listens) stops it as gracefully as at any other time: the stream
 * the provider is generating is settled at what it made, and no hold is left for the sweeper to charge in full.
 */
import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider } from './support/mock-provider'
import { BUN, capturedOutput, MASTER_KEY, mockProviders, ROOT, spawnGateway, tempDir } from './support/gateway'
import { freePort } from './support/redis-server'

const PRICING = { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } }
const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

test('SIGTERM while the gateway serves but still waits on a silent Redis at startup stops it gracefully: the stream in flight is settled, no hold is left', async () => {
  const mock = startMockProvider({ chunks: 40, chunkDelayMs: 300 })
  cleanup.push(() => mock.stop())
  // A Redis that takes the connection and never answers (a host dropping packets after the handshake, a stuck proxy).
  const silentRedis = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  cleanup.push(() => silentRedis.stop(true))
  const dir = tempDir()
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  const dbPath = join(dir, 'tollgate.db')
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(file, JSON.stringify({ providers: mockProviders(mock), pricing: PRICING }))
  // The user and key made beforehand, on the same file, so that the window needs only the stream itself.
  const before = await spawnGateway({ mock, dbPath, config: { pricing: PRICING } })
  const { secret } = await before.userWithKey({ id: 'team', max_budget: 100 })
  await before.stop()
  const port = freePort()
  const url = `http://127.0.0.1:${port}`
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      TOLLGATE_CONFIG: file,
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_HOST: '127.0.0.1',
      TOLLGATE_PORT: String(port),
      TOLLGATE_DB: dbPath,
      TOLLGATE_REDIS_URL: `redis://127.0.0.1:${silentRedis.port}`,
      TOLLGATE_SHUTDOWN_GRACE_MS: '1000',
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  cleanup.push(() => proc.kill('SIGKILL'))
  const output = capturedOutput(proc)

  // Serving: /health answers while the gateway still waits on Redis (it has not said it listens yet).
  const deadline = Date.now() + 15_000
  while ((await fetch(`${url}/health`).then((r) => r.status, () => 0)) !== 200) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`gateway did not serve:\n${output()}`)
    await Bun.sleep(5)
  }
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'mock:gpt-mock', stream: true, max_tokens: 1000, messages: [{ role: 'user', content: 'Tell me about the sea.' }] }),
  })
  const reader = res.body!.getReader()
  let seen = ''
  while (!/"content":"[^"]/.test(seen)) {
    const { value, done } = await reader.read()
    if (done) throw new Error('stream ended early')
    seen += new TextDecoder().decode(value)
  }
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) break
    } catch {}
  })()
  const saidListening = /listening on/.test(output())

  proc.kill('SIGTERM') // the provider is generating; the gateway has served for well under a second
  await proc.exited

  const db = new Database(dbPath, { readonly: true })
  cleanup.push(() => db.close())
  const openHolds = db.query('SELECT amount FROM reservations').all().map((r: any) => r.amount)
  const usage = db.query('SELECT status, cost FROM usage').all()
  expect({ saidListeningBeforeStop: saidListening, exit: proc.signalCode ?? proc.exitCode, openHolds, settled: usage.length }).toEqual({
    saidListeningBeforeStop: false, // the window this test is about
    exit: 0,
    openHolds: [],
    settled: 1,
  })
}, 60_000)
