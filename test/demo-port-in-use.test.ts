/**
 * `npm run demo` on a port something else listens on (another demo, a gateway, any program on 8080) printed a
 * stack trace from deep inside the server, and left its mock provider's port and its temp database behind. Now it
 * prints one line that says the port is in use and how to pick another, and exits non-zero, leaving nothing.
 */
import { expect, test } from 'bun:test'
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, ROOT, tempDir } from './support/gateway'

test('a busy port: one line naming the port and TOLLGATE_PORT, no stack trace, exit non-zero, nothing left behind', async () => {
  const busy = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } })
  // The demo's temp folder for its database goes here, where nothing else writes.
  const tmp = tempDir('tollgate-demo-tmp-')
  try {
    const proc = Bun.spawn([BUN, join(ROOT, 'scripts', 'demo.ts')], {
      env: { PATH: process.env.PATH ?? '', TOLLGATE_PORT: String(busy.port), TMPDIR: tmp },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
    const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
    clearTimeout(timer)
    const lines = (stdout + stderr).split('\n').filter((line) => line.trim() !== '')
    expect(code).not.toBe(0)
    expect(code).not.toBeNull()
    expect(lines.length).toBe(1)
    expect(lines[0]).toContain(`port ${busy.port}`)
    expect(lines[0]).toContain('in use')
    expect(lines[0]).toContain('TOLLGATE_PORT=')
    expect(stdout + stderr).not.toMatch(/^\s+at /m)
    expect(readdirSync(tmp)).toEqual([])
  } finally {
    busy.stop(true)
    rmSync(tmp, { recursive: true, force: true })
  }
}, 30_000)
