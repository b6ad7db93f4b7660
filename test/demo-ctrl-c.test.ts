/**
 * README "Quick start": `npm install && npm run demo`; the demo says "Stop with Ctrl-C" and, on the signal,
 * stops the gateway and deletes its throw-away database. Ctrl-C in a terminal sends SIGINT to the whole
 * foreground process group — npm and the bun it runs — and npm passes its own SIGINT on to the child too, so
 * the demo gets the signal twice. It must still stop cleanly: no error, exit 0, nothing left behind.
 */
import { expect, test } from 'bun:test'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT } from './support/gateway'

test('npm run demo stopped with Ctrl-C (SIGINT to its process group) exits 0 without an error', async () => {
  const child = spawn('npm', ['run', 'demo'], {
    cwd: ROOT,
    detached: true, // its own process group, as a terminal's foreground job is
    env: { ...process.env, PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, TOLLGATE_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const deadline = Date.now() + 20_000
  while (!out.includes('Stop with Ctrl-C') && Date.now() < deadline) await Bun.sleep(50)
  expect(out).toContain('Stop with Ctrl-C')
  const dbDir = /database (\/\S+)\)/.exec(out)?.[1]
  expect(dbDir).toBeDefined()

  // What Ctrl-C does: SIGINT to the whole group, so bun gets one from the terminal and one more when npm passes its
  // own on, at a moment of npm's choosing (a single Ctrl-C shows the error in about 1 run of 3). To make the run
  // repeatable the second SIGINT is sent to bun every 5 ms until it exits, so one lands at every moment of its stop.
  const bunPid = Number(Bun.spawnSync(['pgrep', '-P', String(child.pid)]).stdout.toString().trim().split('\n')[0])
  expect(bunPid).toBeGreaterThan(0)
  process.kill(-child.pid!, 'SIGINT')
  let ended = false
  void exited.then(() => (ended = true))
  while (!ended) {
    try {
      process.kill(bunPid, 'SIGINT')
    } catch {
      break
    }
    await Bun.sleep(5)
  }
  const code = await exited
  await Bun.sleep(200) // the last output lines
  const afterBanner = out.slice(out.indexOf('Stop with Ctrl-C'))
  // Before: "Elysia isn't running. Call `app.listen` to start the server. Error … at stop (src/server.ts) … at
  // scripts/demo.ts", the second SIGINT stopping the gateway a second time (test/stop-twice.test.ts).
  expect(afterBanner).not.toContain('Error')
  expect(code).toBe(0)
  expect(existsSync(dbDir!)).toBe(false)
}, 30_000)
