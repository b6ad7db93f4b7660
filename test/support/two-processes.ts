/**
 * For a test file: two gateway processes (`a`, `b`) on one SQLite file in front of one mock provider, as two
 * replicas whose key caches do not hear of each other's writes; started before the file's tests and stopped,
 * the file removed, after them. `use` is handed both once they are started.
 */
import { afterAll, beforeAll } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { spawnGateway, tempDir, type SpawnedGateway } from './gateway'
import { startMockProvider, type MockProvider } from './mock-provider'

export function withTwoProcesses(dirPrefix: string, use: (started: { a: SpawnedGateway; b: SpawnedGateway }) => void): void {
  let mock: MockProvider | undefined
  let dir: string | undefined
  let a: SpawnedGateway | undefined
  let b: SpawnedGateway | undefined
  beforeAll(async () => {
    mock = startMockProvider()
    dir = tempDir(dirPrefix)
    const dbPath = join(dir, 'shared.db')
    a = await spawnGateway({ mock, dbPath })
    b = await spawnGateway({ mock, dbPath })
    use({ a, b })
  }, 60_000)
  afterAll(async () => {
    await a?.stop()
    await b?.stop()
    await mock?.stop()
    if (dir) rmSync(dir, { recursive: true, force: true })
  })
}
