/**
 * A real Postgres for the engine tests: Debian's `postgresql` 15 binaries, run as the `postgres` user in a
 * temp data dir on a free loopback port, stopped by the test. No engine → the test fails saying what to
 * install (never a silent skip).
 */
import { spawnSync, type Subprocess } from 'bun'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { madeOnce } from '../../support/made-once'
import { freePort } from '../../support/free-port'

const BIN = process.env.TOLLGATE_PG_BIN ?? '/usr/lib/postgresql/15/bin'
const INSTALL = 'Postgres 15 is needed for the engine tests: apt-get update && apt-get install -y postgresql (or set TOLLGATE_PG_BIN to its bin folder)'

export interface TestPostgres {
  /** postgres://… of a fresh database on this server (the `postgres` user's password in it, when it has one). */
  url: string
  port: number
  /** A new empty database on this server, with `settings` for its sessions (ALTER DATABASE … SET); returns its URL. */
  database(name: string, settings?: Record<string, string>): Promise<string>
  /** Stops the server (fast shutdown), keeping its data dir for `start`. */
  stop(): Promise<void>
  /** Starts it again on the same port and data. */
  start(): Promise<void>
  /** Stops it for good and deletes its data. */
  destroy(): Promise<void>
}

function asPostgres(args: string[]) {
  return ['setpriv', '--reuid', 'postgres', '--regid', 'postgres', '--init-groups', '--', ...args]
}

function postgresIds(): [number, number] {
  const id = (flag: string) => Number(spawnSync(['id', flag, 'postgres']).stdout.toString().trim())
  return [id('-u'), id('-g')]
}

function ownedByPostgres(dir: string): string {
  chmodSync(dir, 0o700)
  chownSync(dir, ...postgresIds())
  return dir
}

/**
 * initdb takes ~2 s and 160 engine test files each start a server, so it runs once per password in a test run;
 * every server then starts from a copy of that data dir (~0.1 s), as fresh as its own initdb. The copy is kept on
 * disk under the run's pid, not in memory: in a parallel run each file is evaluated afresh (bun's `--isolate`) in
 * one of several worker processes, and the run is their parent (two of them may make it at once: `madeOnce`).
 */
const INITDB_DIR = 'tollgate-pg-initdb-'
const runPid = process.env.BUN_TEST_WORKER_ID ? process.ppid : process.pid

function initialisedDataDir(password: string | undefined): string {
  const dir = join(tmpdir(), `${INITDB_DIR}${runPid}-${Bun.hash(`${BIN}\0${password ?? ''}`).toString(36)}`)
  if (!existsSync(dir)) removeInitdbDirsOfEndedRuns()
  madeOnce(dir, (making) => {
    ownedByPostgres(making)
    const passwordFile = join(making, 'password')
    const auth = password === undefined ? ['-A', 'trust'] : ['-A', 'scram-sha-256', `--pwfile=${passwordFile}`]
    if (password !== undefined) {
      writeFileSync(passwordFile, password, { mode: 0o600 })
      chownSync(passwordFile, ...postgresIds())
    }
    const init = spawnSync(asPostgres([join(BIN, 'initdb'), '-D', join(making, 'data'), ...auth, '-U', 'postgres', '--no-sync', '-E', 'UTF8']))
    rmSync(passwordFile, { force: true })
    if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.toString()}`)
  })
  return join(dir, 'data')
}

/** `bun test` never emits `exit`, so a run cannot remove its own: the next run removes those of ended runs. */
function removeInitdbDirsOfEndedRuns() {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.startsWith(INITDB_DIR) ? name.slice(INITDB_DIR.length).split('-')[0] : Number.NaN)
    if (Number.isInteger(pid) && pid > 0 && !isRunning(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true })
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/**
 * `password`: every login must give one (scram-sha-256), the `postgres` user's being this; unset, none is
 * asked for (trust).
 */
export async function startPostgres(options: { password?: string } = {}): Promise<TestPostgres> {
  if (!existsSync(join(BIN, 'postgres'))) throw new Error(INSTALL)
  const dir = ownedByPostgres(mkdtempSync(join(tmpdir(), 'tollgate-pg-')))
  const data = join(dir, 'data')
  const copy = spawnSync(['cp', '-a', initialisedDataDir(options.password), data])
  if (copy.exitCode !== 0) throw new Error(`copying the initialised data dir failed: ${copy.stderr.toString()}`)
  const port = freePort()
  let server: Subprocess | null = null

  // If the test run ends without destroy() (a timeout, an error), the server must not outlive it.
  process.once('exit', () => {
    server?.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  const start = async () => {
    server = Bun.spawn(
      asPostgres([join(BIN, 'postgres'), '-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', dir, '-c', 'max_connections=300', '-c', 'fsync=on']),
      { stdout: 'ignore', stderr: 'pipe' },
    )
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      const ready = spawnSync([join(BIN, 'pg_isready'), '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres'])
      if (ready.exitCode === 0) return
      await Bun.sleep(100)
    }
    throw new Error('Postgres did not start within 30 s')
  }
  const stop = async () => {
    if (!server) return
    server.kill('SIGINT') // fast shutdown: sessions are cut, committed data stays
    await server.exited
    server = null
  }
  await start()
  const login = options.password === undefined ? 'postgres' : `postgres:${encodeURIComponent(options.password)}`
  const admin = new Bun.SQL(`postgres://${login}@127.0.0.1:${port}/postgres`)
  const database = async (name: string, settings: Record<string, string> = {}) => {
    await admin.unsafe(`CREATE DATABASE "${name}"`)
    for (const [setting, value] of Object.entries(settings)) await admin.unsafe(`ALTER DATABASE "${name}" SET ${setting} = '${value}'`)
    return `postgres://${login}@127.0.0.1:${port}/${name}`
  }
  return {
    url: await database('tollgate'),
    port,
    database,
    stop,
    start,
    async destroy() {
      await admin.close()
      await stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
