/**
 * README "To run it for real": `npm start` (and `npm run tollgate`, which serves too without a command). Settings: "shutdown grace — on SIGTERM, how long requests in flight may
 * finish before what is still running is cut and settled; the stop ends about a second later". A supervisor that
 * stops what it started (`kill <pid>`, supervisord, pm2, a systemd unit with KillMode=process, a CI job) signals the
 * process it ran: npm. npm passes SIGTERM on to its child, the `sh -c` that package.json's "start" script runs in;
 * that shell does not pass it on, and dies, unless the script replaces it with bun (`exec bun …`). Without the exec
 * the gateway was left orphaned (reparented to PID 1), still listening and serving on the port, with no graceful
 * stop: a restart then failed "port … is already in use", and the "stopped" gateway kept taking requests and money.
 */
import { afterAll, expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { MASTER_KEY, ROOT, tempDir } from './support/gateway'
import { freePort } from './support/free-port'

const started: number[] = []
afterAll(() => {
  for (const pid of started) try { process.kill(pid, 'SIGKILL') } catch {}
})

function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === pid) out.push(Number(entry))
    } catch {}
  }
  return out
}
const descendants = (pid: number): number[] => childrenOf(pid).flatMap((c) => [c, ...descendants(c)])
const alive = (pid: number) => { try { process.kill(pid, 0); return true } catch { return false } }

for (const name of ['start', 'tollgate']) {
  test(`SIGTERM to \`npm run ${name}\` stops the gateway it started`, async () => {
    const port = freePort()
    const script = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts[name] as string
    const npm = Bun.which('npm')
    const env = {
      PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
      HOME: process.env.HOME ?? '/tmp',
      TOLLGATE_MASTER_KEY: MASTER_KEY,
      TOLLGATE_PORT: String(port),
      TOLLGATE_DB: join(tempDir(), 'tollgate.db'),
      TOLLGATE_LOG_LEVEL: 'warn',
    }
    // What the README runs; without npm, the shell npm runs the script in.
    const proc = Bun.spawn(npm ? [npm, 'run', name, '--silent'] : ['sh', '-c', script], { cwd: ROOT, env, stdout: 'pipe', stderr: 'pipe' })
    let up = false
    for (let i = 0; i < 200 && !up; i++) {
      up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
      if (!up) await Bun.sleep(50)
    }
    expect(up).toBe(true)
    const tree = descendants(proc.pid)
    started.push(...tree)

    proc.kill('SIGTERM')
    await proc.exited
    const deadline = Date.now() + 12_000 // the 8 s grace and about a second more, with room
    while (Date.now() < deadline && tree.some(alive)) await Bun.sleep(100)

    const stillServing = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, () => 'refused')
    expect({ processesLeft: tree.filter(alive).length, stillServing }).toEqual({ processesLeft: 0, stillServing: 'refused' })
  }, 30_000)
}
