/**
 * A real Redis for the engines tests: Debian's `redis-server`, started on a free loopback port with nothing
 * kept on disk, stoppable and startable again on the same port (to test a Redis outage and the recovery).
 * Missing, it fails the test naming what to install: never a silent skip.
 */
import type { Subprocess } from 'bun'
import { existsSync } from 'node:fs'
import { freePort } from './free-port'

export const REDIS_INSTALL_HINT = 'redis-server is not installed: install Debian\'s redis-server (apt-get install -y redis-server); .ci/run installs it when missing'

function redisBinary(): string {
  const found = Bun.which('redis-server') ?? (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : null)
  if (!found) throw new Error(REDIS_INSTALL_HINT)
  return found
}

export interface TestRedis {
  /** What a client connects with: the address, with the password (escaped) when the server requires one. */
  url: string
  /** `redis://127.0.0.1:<port>`, without the password. */
  address: string
  port: number
  /** Stops the server (SIGKILL: as a crash would). */
  stop(): Promise<void>
  /** Starts it again on the same port, empty. */
  start(): Promise<void>
  /** Runs one command with redis-cli. */
  cli(...args: string[]): Promise<string>
}

/** `password`: the one the server requires (`--requirepass`), as the compose file's redis service does. */
export async function startRedis(options: { password?: string } = {}): Promise<TestRedis> {
  const binary = redisBinary()
  const port = freePort()
  const { password } = options
  let proc: Subprocess | null = null
  const cli = async (...args: string[]) => {
    const p = Bun.spawn([binary.replace(/redis-server$/, 'redis-cli'), '-h', '127.0.0.1', '-p', String(port), ...args], {
      stdout: 'pipe',
      stderr: 'pipe',
      env: { ...process.env, ...(password === undefined ? {} : { REDISCLI_AUTH: password }) },
    })
    const [out] = await Promise.all([new Response(p.stdout).text(), p.exited])
    return out.trim()
  }
  const start = async () => {
    const requirePass = password === undefined ? [] : ['--requirepass', password]
    proc = Bun.spawn([binary, '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...requirePass], { stdout: 'ignore', stderr: 'pipe' })
    const deadline = Date.now() + 10_000
    while ((await cli('ping').catch(() => '')) !== 'PONG') {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server did not start on port ${port} (exit ${proc.exitCode})`)
      await Bun.sleep(20)
    }
  }
  await start()
  process.on('exit', () => proc?.kill('SIGKILL'))
  const address = `redis://127.0.0.1:${port}`
  return {
    url: password === undefined ? address : `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}`,
    address,
    port,
    cli,
    start,
    async stop() {
      if (!proc || proc.exitCode !== null) return
      proc.kill('SIGKILL')
      await proc.exited
    },
  }
}
