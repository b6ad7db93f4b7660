import { describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RUNTIME_ENV } from '../src/runtime-env'

/**
 * The runtime settings read once at process start (src/runtime-env.ts) are where the gateway is started:
 * `npm start` and the container image. And this Bun accepts them: it refuses to start on a JavaScriptCore
 * option it does not know, so an upgrade that dropped one would fail here, not in a deployment.
 */
const ROOT = join(import.meta.dir, '..')
const settings = Object.entries(RUNTIME_ENV)

describe('runtime settings', () => {
  test('npm start sets each one, unless the environment already does', () => {
    const start: string = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start
    for (const [name, value] of settings) expect(start).toContain(`${name}=\${${name}:-${value}} `)
    expect(start).toEndWith('bun src/index.ts')
  })

  test("the container image's runtime stage sets each one", () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '))
    const env = /\nENV ((?:[^\n]*\\\n)*[^\n]*)/.exec(runtime)![1]!
    for (const [name, value] of settings) expect(env.split(/\s+/)).toContain(`${name}=${value}`)
  })

  test('this Bun starts with them (an unknown JavaScriptCore option stops it)', () => {
    const run = (env: Record<string, string>) =>
      Bun.spawnSync([process.execPath, '-e', 'console.log("started")'], { env: { PATH: process.env.PATH ?? '', ...env } })
    const started = run(RUNTIME_ENV)
    expect(started.stderr.toString()).toBe('')
    expect(started.stdout.toString().trim()).toBe('started')
    expect(started.exitCode).toBe(0)
    // The check has teeth: a misspelt option is refused.
    expect(run({ BUN_JSC_useFTLJITT: '0' }).exitCode).not.toBe(0)
  })
})
