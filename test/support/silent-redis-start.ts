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
import { freePort } from './redis-server'

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
