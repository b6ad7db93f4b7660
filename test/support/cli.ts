/**
 * The `tollgate` admin CLI run as the real entry point (`bun src/index.ts <args>`), in a child process,
 * against a test gateway with the master key.
 */
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT } from './gateway'

/** Runs `tollgate <args>` against the gateway at `url` (with these extra env vars); returns how it ended. */
export async function runTollgate(url: string, args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), ...args], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_URL: url, TOLLGATE_MASTER_KEY: MASTER_KEY, ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, stdout, stderr] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  return { code, stdout, stderr }
}

/** Runs `tollgate <args>` against the gateway at `url` and returns its stdout; throws, with its stderr, if it exits non-zero. */
export async function tollgateOutput(url: string, args: string[]) {
  const { code, stdout, stderr } = await runTollgate(url, args)
  if (code !== 0) throw new Error(`tollgate ${args.join(' ')} exited ${code}: ${stderr}`)
  return stdout
}

/** Runs `tollgate migrate <args>` with only PATH and `env` (no gateway, no master key); its exit code and all it printed. */
export async function runMigrate(env: Record<string, string>, ...args: string[]) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), 'migrate', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
  return { code, output: out + err }
}
