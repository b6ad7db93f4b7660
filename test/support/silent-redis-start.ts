/**
 * The setting of the tests of a stop in the window between a gateway's listening and its `ready`: a provider
 * streaming slowly (40 chunks, 0.3 s apart), a Redis that takes the connection and never answers (each gateway
 * waits its 1 s on it before saying it serves), a config file and a database on which a user with a key was made
 * beforehand, so that the window needs only the stream itself, and a free port to start on.
 */
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { mockProviders, spawnGateway, tempDir } from './gateway'
import { startMockProvider } from './mock-provider'
import { freePort } from './free-port'

const PRICING = { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } }

export async function silentRedisStart(cleanup: Array<() => unknown>) {
  const mock = startMockProvider({ chunks: 40, chunkDelayMs: 300 })
  cleanup.push(() => mock.stop())
  const silentRedis = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  cleanup.push(() => silentRedis.stop(true))
  const dir = tempDir()
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
  const dbPath = join(dir, 'tollgate.db')
  const configFile = join(dir, 'tollgate.yaml')
  writeFileSync(configFile, JSON.stringify({ providers: mockProviders(mock), pricing: PRICING }))
  const before = await spawnGateway({ mock, dbPath, config: { pricing: PRICING } })
  const { secret } = await before.userWithKey({ id: 'team', max_budget: 100 })
  await before.stop()
  const port = freePort()
  return { mock, redisUrl: `redis://127.0.0.1:${silentRedis.port}`, dir, dbPath, configFile, secret, port, url: `http://127.0.0.1:${port}` }
}

/** Starts a stream as `secret` and returns once its first content has arrived; the rest is read, unwatched. */
export async function streamUnderWay(url: string, secret: string): Promise<void> {
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
}
