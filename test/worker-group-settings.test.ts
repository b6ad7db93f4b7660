/**
 * A TOLLGATE_WORKERS group's primary restarts a worker that dies, and the new worker reads the configuration
 * afresh (the file may have been edited since the group started, say ahead of a planned restart). The primary
 * took the port's lock and migrated one database for the group: a restarted worker serves that port and that
 * database, not whatever the file now says (else one worker serves a port no lock guards, or keeps a ledger of
 * its own beside the group's, each budget then spendable once per database). And a group cannot keep its
 * database in memory, where each worker would have one of its own.
 */
import { afterEach, expect, test } from 'bun:test'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT, capturedOutput, tempDir } from './support/gateway'
import { freePort } from './support/free-port'
import { waitFor } from './support/wait-for'

const dirs: string[] = []
const procs: Array<ReturnType<typeof Bun.spawn>> = []
afterEach(async () => {
  for (const p of procs.splice(0)) {
    if (p.exitCode === null) p.kill('SIGTERM')
    await p.exited
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

/** Sockets listening on the port (IPv4), from the kernel's table. */
function listeners(p: number): number {
  const hexPort = p.toString(16).toUpperCase().padStart(4, '0')
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .filter((line) => {
      const f = line.trim().split(/\s+/)
      return f[1]?.endsWith(`:${hexPort}`) && f[3] === '0A'
    }).length
}

test('a worker restarted after the config file was edited serves the group\'s port and database, not the edited ones', async () => {
  const dir = tempDir()
  dirs.push(dir)
  const file = join(dir, 'tollgate.yaml')
  const port = freePort()
  const otherPort = freePort()
  const dbA = join(dir, 'a.db')
  const dbB = join(dir, 'b.db')
  const settings = { host: '127.0.0.1', port, db: dbA, workers: 2, providers: {}, pricing: {} }
  writeFileSync(file, JSON.stringify(settings))
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_CONFIG: file, TOLLGATE_MASTER_KEY: MASTER_KEY },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  })
  procs.push(proc)
  const out = capturedOutput(proc)
  expect(await waitFor(20_000, () => out().includes('2 workers sharing the port'))).toBe(true)
  expect(await waitFor(5_000, () => [...out().matchAll(/worker (\d+) serving/g)].length === 2)).toBe(true)
  const [victim] = [...out().matchAll(/worker (\d+) serving/g)].map((m) => Number(m[1]))

  // The operator edits the file for the next restart (a new port, the database moved); meanwhile a worker dies.
  writeFileSync(file, JSON.stringify({ ...settings, port: otherPort, db: dbB }))
  process.kill(victim!, 'SIGKILL')
  expect(await waitFor(20_000, () => [...out().matchAll(/worker (\d+) serving/g)].length === 3)).toBe(true)

  const restartedOn = [...out().matchAll(/worker \d+ serving (\S+)/g)].map((m) => m[1])[2]
  expect({ restartedOn, listenersOnGroupPort: listeners(port), listenersElsewhere: listeners(otherPort), secondDatabase: existsSync(dbB) }).toEqual({
    restartedOn: `http://127.0.0.1:${port}`,
    listenersOnGroupPort: 2,
    listenersElsewhere: 0,
    secondDatabase: false,
  })
}, 60_000)

test('TOLLGATE_WORKERS above 1 with the database in memory is refused: each worker would keep keys and budgets of its own', async () => {
  const { runGatewayExpectingExit } = await import('./support/gateway')
  const port = freePort()
  const run = await runGatewayExpectingExit({
    TOLLGATE_MASTER_KEY: MASTER_KEY,
    TOLLGATE_PORT: String(port),
    TOLLGATE_HOST: '127.0.0.1',
    TOLLGATE_DB: ':memory:',
    TOLLGATE_WORKERS: '2',
  }, 8_000)
  expect({ code: run.code, refused: /refusing to start[\s\S]*memory/.test(run.output) }).toEqual({ code: 1, refused: true })
}, 30_000)
