/**
 * What an operator copies from README.md, checked mechanically: the variables the gateway accepts are all named,
 * the "To run it for real" snippet gives every variable its tollgate.yaml reads, a webhook secret of the length
 * the README states is the shortest accepted, and the container form of `migrate` is a command the image has.
 */
import { describe, expect, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ENV_SETTINGS, loadConfig, OTHER_NAMES } from '../src/config/load'
import { MASTER_KEY, ROOT, tempDir } from './support/gateway'

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** The README's text under a heading, up to the next heading of the same or a higher level (code blocks' `#` lines are no headings). */
function section(heading: string): string {
  const lines = readme.split('\n')
  const start = lines.indexOf(heading)
  if (start === -1) throw new Error(`README has no heading ${heading}`)
  const level = heading.indexOf(' ')
  let fenced = false
  let end = start + 1
  for (; end < lines.length; end++) {
    if (lines[end]!.trimStart().startsWith('```')) fenced = !fenced
    const hashes = /^(#+) /.exec(lines[end]!)?.[1]?.length
    if (!fenced && hashes !== undefined && hashes <= level) break
  }
  return lines.slice(start + 1, end).join('\n')
}

const codeBlocks = (text: string, lang: string) => [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!)

const configFile = (yaml: string) => {
  const path = join(tempDir(), 'tollgate.yaml')
  writeFileSync(path, yaml)
  return path
}

test('every TOLLGATE_* variable the gateway accepts is named in the README', () => {
  const accepted = [...ENV_SETTINGS.map((s) => `TOLLGATE_${s.toUpperCase()}`), ...OTHER_NAMES]
  expect(accepted.filter((name) => !readme.includes(`\`${name}\``))).toEqual([])
})

test('"To run it for real": the shell snippet exports every variable its tollgate.yaml reads', () => {
  const quickStart = section('## Quick start (a machine with only Node and npm)')
  const forReal = quickStart.slice(quickStart.indexOf('To run it for real'))
  const [shell] = codeBlocks(forReal, 'sh')
  const [yaml] = codeBlocks(forReal, 'yaml')
  // `export A=… B="$(…)"`: each name given a value, as the operator's shell then holds it.
  const exported = shell!.split('\n').filter((line) => line.startsWith('export ')).flatMap((line) => [...line.matchAll(/\b([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!))
  const env: Record<string, string> = Object.fromEntries(exported.map((name) => [name, `value-of-${name}-0123456789`]))
  env.TOLLGATE_MASTER_KEY = MASTER_KEY
  expect(exported).toContain('TOLLGATE_CONFIG')
  expect(() => loadConfig({ ...env, TOLLGATE_CONFIG: configFile(yaml!) })).not.toThrow()
})

describe('Budget alerts: a webhook secret', () => {
  const alerts = section('## Budget alerts')
  const [yaml] = codeBlocks(alerts, 'yaml')
  const stated = Number(/`secret`[^.]*?at least (\d+) characters/.exec(alerts)?.[1])
  const load = (secret: string) => () => loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, ALERT_WEBHOOK_SECRET: secret, TOLLGATE_CONFIG: configFile(yaml!) })

  test('of the length the README states is accepted, one character shorter is refused naming it', () => {
    expect(stated).toBeGreaterThan(0)
    expect(load('s'.repeat(stated))).not.toThrow()
    expect(load('s'.repeat(stated - 1))).toThrow('alerts.webhooks.ops.secret')
  })
})

test('"Moving an existing SQLite install": the container command is the image\'s own command, on its volume', () => {
  const moving = readme.slice(readme.indexOf('**Moving an existing SQLite install.**'))
  const run = codeBlocks(moving, 'sh')[0]!.replace(/\\\n\s*/g, '').split('\n').find((line) => line.includes('docker run'))!
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[]
  const volume = /^VOLUME (\S+)$/m.exec(dockerfile)![1]!
  // `docker run [options] IMAGE COMMAND…`: the command is the image's CMD with `migrate` after it.
  const words = run.trim().split(/\s+/)
  const image = words.findIndex((w) => /^tollgate:/.test(w))
  expect(words.slice(image + 1)).toEqual([...cmd, 'migrate'])
  expect(run).toContain(`-v tollgate-data:${volume}`)
  expect(run).toContain(`-e TOLLGATE_DB=${volume}/tollgate.db`)
  // The URL, which carries the password, is passed by name from the environment, never written in the command.
  expect(run).toMatch(/-e TOLLGATE_DATABASE_URL(\s|$)/)
  expect(run).not.toContain('postgres://')
})
