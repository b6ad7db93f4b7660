/**
 * The gateway's entry point started as an operator starts it (`bun src/index.ts [args]` in a child process, with the
 * master key and port 0), for settings that must stop it at start: how the attempt ended and all it wrote.
 */
import { afterEach } from 'bun:test'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT, tempDir } from './gateway'

/** `bun src/index.ts [args]` in `cwd` with `env` until it exits or says it listens (then it is stopped); its output. */
export async function startAttempt(cwd: string, env: Record<string, string>, args: string[] = []) {
  const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts'), ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_PORT: '0', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  let output = ''
  const pump = async (s: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder()
    for await (const chunk of s) output += decoder.decode(chunk, { stream: true })
  }
  const pumped = Promise.all([pump(proc.stdout), pump(proc.stderr)])
  const deadline = Date.now() + 15_000
  while (proc.exitCode === null && !/listening on/.test(output) && Date.now() < deadline) await Bun.sleep(20)
  const listened = /listening on/.test(output)
  if (proc.exitCode === null) proc.kill('SIGTERM')
  const code = await proc.exited
  await pumped
  return { code, listened, output }
}

/** For a test file: a maker of empty working directories (named `prefix`…), each removed after its test. */
export function workdirsPerTest(prefix: string): () => string {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
  })
  return () => {
    const d = tempDir(prefix)
    dirs.push(d)
    return d
  }
}
