/**
 * docs/container.md, "With a configuration file": the `tollgate.yaml` it shows reads `${OPENAI_API_KEY}` and
 * `${ANTHROPIC_API_KEY}` ("an unset `${VAR}` … stops start-up with exit code 1"). Every snippet that mounts that
 * file (`docker run`, Podman, Compose) must pass both, or an operator who copies it gets a container that exits 1
 * ("environment variable … is not set") and restarts in a loop.
 *
 * No container engine runs here, so each snippet is run as the image runs it: `bun src/index.ts` with the
 * environment the snippet gives the container (the names it passes, with the values an operator's shell holds),
 * TOLLGATE_CONFIG pointing at the page's tollgate.yaml. It must start.
 */
import { expect, test } from 'bun:test'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { BUN, MASTER_KEY, ROOT, tempDir } from './support/gateway'

const page = readFileSync(join(ROOT, 'docs', 'container.md'), 'utf8')
const blocks = [...page.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]! }))
const configFile = blocks.find((b) => b.lang === 'yaml' && b.text.startsWith('# tollgate.yaml'))!.text

/** What the operator's shell holds: every secret the page tells them to have. */
const shell: Record<string, string> = { TOLLGATE_MASTER_KEY: MASTER_KEY, OPENAI_API_KEY: 'sk-openai-0123456789', ANTHROPIC_API_KEY: 'sk-ant-0123456789' }

/** The variables a `docker run`/`podman run` command passes (`-e NAME` copies it from the shell; `-e NAME=v`). */
function runEnv(command: string): Record<string, string> {
  const env: Record<string, string> = {}
  for (const m of command.matchAll(/-e\s+([A-Z_][A-Z0-9_]*)(?:=(\S+))?/g)) env[m[1]!] = m[2] ?? shell[m[1]!] ?? ''
  return env
}

/** The variables a compose service's `environment:` gives (`${VAR}` / `${VAR:?…}` read from the shell). */
function composeEnv(text: string): Record<string, string> {
  const service = Object.values((Bun.YAML.parse(text) as any).services as Record<string, any>)[0]
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(service.environment as Record<string, string>))
    env[name] = String(value).replace(/\$\{([A-Z_][A-Z0-9_]*)(?::\?[^}]*)?\}/g, (_, v: string) => shell[v] ?? '')
  return env
}

const snippets: [string, Record<string, string>][] = [
  ['docker run with a configuration file', runEnv(blocks.find((b) => b.lang === 'sh' && /docker run[\s\S]*TOLLGATE_CONFIG/.test(b.text))!.text)],
  ['podman run', runEnv(blocks.find((b) => b.lang === 'sh' && /podman run/.test(b.text))!.text)],
  ['compose', composeEnv(blocks.find((b) => b.lang === 'yaml' && /^services:/m.test(b.text) && /TOLLGATE_CONFIG/.test(b.text))!.text)],
]

for (const [name, env] of snippets) {
  test(`docs/container.md: the ${name} snippet starts the gateway with the page's tollgate.yaml`, async () => {
    expect(env.TOLLGATE_CONFIG).toBeDefined() // the snippet mounts the file
    const dir = tempDir()
    writeFileSync(join(dir, 'tollgate.yaml'), configFile)
    const proc = Bun.spawn([BUN, join(ROOT, 'src', 'index.ts')], {
      cwd: dir,
      // The image's own ENV (Dockerfile), with the port and database moved into the test's reach.
      env: { PATH: process.env.PATH ?? '', ...env, TOLLGATE_CONFIG: join(dir, 'tollgate.yaml'), TOLLGATE_PORT: '0', TOLLGATE_DB: join(dir, 'tollgate.db'), BUN_CONFIG_MAX_HTTP_REQUESTS: '4096' },
      stdout: 'pipe',
      stderr: 'pipe',
    })
    let output = ''
    const read = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) output += new TextDecoder().decode(chunk)
    }
    const reader = Promise.all([read(proc.stdout as ReadableStream<Uint8Array>), read(proc.stderr as ReadableStream<Uint8Array>)])
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline && !output.includes('listening') && proc.exitCode === null) await Bun.sleep(50)
    const started = output.includes('listening')
    proc.kill('SIGKILL')
    await proc.exited
    await reader.catch(() => {})
    rmSync(dir, { recursive: true, force: true })
    expect({ started, refusal: started ? '' : output.trim().split('\n')[0] }).toEqual({ started: true, refusal: '' })
  }, 20_000)
}
