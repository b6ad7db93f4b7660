/**
 * The gateway's stdout is a pipe to whatever collects its logs (`tollgate | tee`, a log shipper, a supervisor's
 * pipe). When that reader goes away (restarted, crashed, `head`), the next log line's write fails with EPIPE:
 * the logger must drop it and keep serving, not crash the gateway on the next request it logs (in-flight calls
 * cut, their holds left for the sweeper to charge in full).
 */
import { afterAll, expect, test } from 'bun:test'
import { readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT, tempDir } from './support/gateway'

const dir = tempDir('tollgate-log-reader-')
let pid: number | undefined
afterAll(() => {
  if (pid !== undefined) try { process.kill(pid, 'SIGKILL') } catch {}
  rmSync(dir, { recursive: true, force: true })
})

const alive = (p: number) => {
  try {
    process.kill(p, 0)
    return true
  } catch {
    return false
  }
}

test('a gateway whose log reader went away keeps serving', async () => {
  // stdout into `head -n 1`: it prints the "listening on" line, then exits, closing the pipe's read end.
  const script = `${JSON.stringify(BUN)} ${JSON.stringify(join(ROOT, 'src', 'index.ts'))} > >(head -n 1) 2>${JSON.stringify(join(dir, 'stderr'))} & echo "pid $!"; wait`
  const shell = Bun.spawn(['bash', '-c', script], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', TOLLGATE_DB: join(dir, 'tollgate.db'), TOLLGATE_LOG_LEVEL: 'info' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const reader = shell.stdout.getReader()
  let out = ''
  let url: string | undefined
  for (const deadline = Date.now() + 15_000; !url && Date.now() < deadline; ) {
    const { value, done } = await reader.read()
    if (done) break
    out += new TextDecoder().decode(value)
    pid ??= Number(/pid (\d+)/.exec(out)?.[1]) || undefined
    url = /listening on (http:\/\/\S+)/.exec(out)?.[1]
  }
  expect(url, out).toBeDefined()
  expect(pid).toBeDefined()
  // head has exited: the pipe has no reader any more.
  await Bun.sleep(200)

  const ask = () => fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } }).then((r) => r.status, (e) => String(e))
  expect(await ask()).toBe(200)
  // Its log line is written at the end of the turn: give the write (and any crash) time to happen.
  await Bun.sleep(300)
  const second = await ask()
  const stderr = readFileSync(join(dir, 'stderr'), 'utf8')
  expect(alive(pid!), stderr).toBe(true)
  expect(second, stderr).toBe(200)
}, 30_000)
