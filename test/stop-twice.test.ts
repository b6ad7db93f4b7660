/**
 * A gateway is stopped more than once: Ctrl-C reaches a process that npm runs twice (the terminal's SIGINT to
 * the whole process group, and the one npm passes on), and a program embedding the gateway may stop it from two
 * places. The later stop waits for the first: the listener and the store are never stopped a second time
 * (Elysia's "Elysia isn't running. Call `app.listen`…" with its stack, before).
 */
import { expect, test } from 'bun:test'
import { rmSync } from 'node:fs'
import { startGateway } from '../src/server'
import { spawnGateway, tempDir, testConfig } from './support/gateway'

test('stop() called again, while the first one runs and after it, is that same stop', async () => {
  const dir = tempDir()
  try {
    const gateway = await startGateway(testConfig({}, dir))
    const first = gateway.stop()
    const again = gateway.stop()
    expect(again).toBe(first)
    await first
    expect(gateway.stop()).toBe(first)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('tollgate serve given SIGINT again and again while it stops: exit 0, no error', async () => {
  const gateway = await spawnGateway()
  // One SIGINT every 5 ms until it ends, so that one lands at every moment of its stop.
  while (gateway.proc.exitCode === null) {
    try {
      gateway.proc.kill('SIGINT')
    } catch {
      break
    }
    await Bun.sleep(5)
  }
  expect(await gateway.proc.exited).toBe(0)
  await Bun.sleep(100) // the last output lines
  expect(gateway.output()).not.toContain('Error')
  await gateway.stop()
})
