/**
 * `tollgate serve` with an argument it does not take refuses it (exit 2, saying why), as every other command
 * does ("an unknown option is refused, never ignored"): `tollgate serve --port 9999` (or `--db /data/other.db`,
 * `--host 0.0.0.0`) must not start a gateway on the configured port and database as if nothing were asked.
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT } from './support/gateway'

const STILL_RUNNING = 'still running: started, the argument ignored'

async function serve(...args: string[]) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), 'serve', ...args], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', TOLLGATE_DB: ':memory:' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const outcome = await Promise.race([proc.exited, Bun.sleep(8000).then(() => STILL_RUNNING)])
  if (outcome === STILL_RUNNING) proc.kill('SIGTERM')
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  await proc.exited
  return { outcome, stdout, stderr }
}

test('tollgate serve --port N refuses the argument instead of starting with another port', async () => {
  const { outcome, stdout, stderr } = await serve('--port', '9')
  expect(outcome).toBe(2)
  expect(stdout).not.toContain('listening on')
  expect(stderr).toContain('--port')
  expect(stderr).toContain('TOLLGATE_PORT')
}, 20_000)

test('a positional argument after serve is refused the same way', async () => {
  const { outcome, stdout, stderr } = await serve('now')
  expect(outcome).toBe(2)
  expect(stdout).not.toContain('listening on')
  expect(stderr).toContain('unexpected argument "now"')
}, 20_000)
