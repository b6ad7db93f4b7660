/**
 * the CLI exits 0 when its output could not be written. README "Admin CLI": exit codes 0 done, 1 the
 * gateway refused or could not be reached; a key's secret "is shown once". `tollgate keys create USER --json >
 * key.json` on a full disk (stdout is /dev/full here: every write fails ENOSPC) creates the key, loses its secret,
 * and exits 0: the operator's script (`… > key.json || exit 1`) goes on with an empty file and a live key whose
 * secret nobody has. console.log (src/cli/main.ts print) drops the write error.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT, startTestGateway, type TestGateway } from './support/gateway'

let gw: TestGateway

beforeAll(async () => {
  gw = await startTestGateway()
  await gw.admin('POST', '/v1/users', { id: 'full-disk' })
})
afterAll(async () => {
  await gw.stop()
})

/** `tollgate <args> > /dev/full`: its exit code (and, in `said`, its stderr). */
let said = ''
async function toFullDisk(args: string[]): Promise<number> {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), ...args], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_URL: gw.url, TOLLGATE_MASTER_KEY: MASTER_KEY },
    stdout: Bun.file('/dev/full'),
    stderr: 'pipe',
  })
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  said = stderr
  return code
}

test('`keys create --json > /dev/full`: the secret is lost, so the command must not exit 0', async () => {
  expect(existsSync('/dev/full')).toBe(true)
  const code = await toFullDisk(['keys', 'create', 'full-disk', '--name', 'ci', '--json'])
  // The key was made (and works), but no one ever saw its secret.
  const keys = (await gw.admin('GET', '/v1/keys?user_id=full-disk')).body.data
  expect(keys.length).toBe(1)
  expect(code).not.toBe(0)
  // The operator is told the key is live and what to do about it.
  expect(said).toContain('ENOSPC')
  expect(said).toContain(`key "${keys[0].id}" exists`)
  expect(said).toContain(`tollgate keys rotate ${keys[0].id}`)
})

test('`usage summary --json > /dev/full` (a report written nowhere) must not exit 0', async () => {
  expect(await toFullDisk(['usage', 'summary', '--json'])).not.toBe(0)
  expect(said).toContain('could not be written')
})

test('`keys rotate ID > /dev/full`: the new secret is lost too, and the old one is gone', async () => {
  const [key] = (await gw.admin('GET', '/v1/keys?user_id=full-disk')).body.data
  expect(await toFullDisk(['keys', 'rotate', key.id])).toBe(1)
  expect(said).toContain(`tollgate keys rotate ${key.id}`)
})

test('an answer written whole still exits 0', async () => {
  const run = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), 'usage', 'summary', '--json'], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_URL: gw.url, TOLLGATE_MASTER_KEY: MASTER_KEY },
    stdout: 'pipe',
  })
  const [code, out] = await Promise.all([run.exited, new Response(run.stdout).text()])
  expect(code).toBe(0)
  expect(JSON.parse(out).data).toBeArray()
})
