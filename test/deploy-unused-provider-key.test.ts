/**
 * deploy/compose.yaml's header said "OPENAI_API_KEY, ANTHROPIC_API_KEY  read by tollgate.yaml (drop the providers
 * you do not use)", and compose's own message when one was unset: "set ANTHROPIC_API_KEY (or remove the provider
 * from tollgate.yaml)". An operator with only an OpenAI account does exactly that: removes `anthropic` from
 * deploy/tollgate.yaml and leaves ANTHROPIC_API_KEY unset. compose must then start the replicas; and a key that
 * tollgate.yaml still reads, left unset, must stop the replica naming it (compose now gives it as empty).
 * (No container engine here: compose's interpolation is done as test/support/replicas.ts does it, `${VAR:?msg}`
 * stopping compose when VAR is unset or empty.)
 */
import { expect, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../src/config/load'
import { ROOT } from './support/gateway'
import { interpolate, readCompose } from './support/replicas'

const VARS: Record<string, string> = {
  TOLLGATE_MASTER_KEY: 'kV3n8Qw2Zr5Tb7Yh1Lp9Xc4Md6Fs0Gj2Ha8Ke3Nu5Rw7Tq1V',
  POSTGRES_PASSWORD: 'pgpassword0123456789',
  REDIS_PASSWORD: 'redispassword0123456789',
  TOLLGATE_METRICS_TOKEN: 'metrics-token-0123456789abcdef',
  OPENAI_API_KEY: 'sk-upstream-secret-0123456789',
  // ANTHROPIC_API_KEY: not set — the operator has no Anthropic account.
}

/** A replica's environment as compose makes it from VARS, or the messages compose stops with. */
function composeReplica(): { env: Record<string, string>; stopped: string[] } {
  const stopped: string[] = []
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(readCompose().services['tollgate-1'].environment as Record<string, string>)) {
    try {
      env[name] = interpolate(String(value), VARS)
    } catch (error) {
      stopped.push(`${name}: ${(error as Error).message}`)
    }
  }
  // No Postgres here, and its URL is not what this test is about.
  delete env.TOLLGATE_DATABASE_URL
  delete env.TOLLGATE_DATABASE_PASSWORD
  env.TOLLGATE_DB = ':memory:'
  return { env, stopped }
}

/** deploy/tollgate.yaml as the operator edited it, written to a file of its own. */
function editedConfig(edit: (yaml: any) => void): { file: string; remove: () => void } {
  const yaml = Bun.YAML.parse(readFileSync(join(ROOT, 'deploy', 'tollgate.yaml'), 'utf8')) as any
  edit(yaml)
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-deploy-providers-'))
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(file, JSON.stringify(yaml))
  return { file, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

test('deploy/: removing the anthropic provider from tollgate.yaml, as compose says, lets compose start without ANTHROPIC_API_KEY', () => {
  const config = editedConfig((yaml) => delete yaml.providers.anthropic)
  try {
    const { env, stopped } = composeReplica()
    // Before: ["ANTHROPIC_API_KEY: compose stops: set ANTHROPIC_API_KEY (or remove the provider from tollgate.yaml)"]:
    // compose.yaml required it with `:?` whatever tollgate.yaml reads, so following its own advice did not start.
    expect(stopped).toEqual([])
    env.TOLLGATE_CONFIG = config.file
    expect(Object.keys(loadConfig(env).providers)).toEqual(['openai'])
  } finally {
    config.remove()
  }
})

test('deploy/: a provider key tollgate.yaml still reads, left unset, stops the replica naming it', () => {
  const { env, stopped } = composeReplica()
  expect(stopped).toEqual([])
  // compose gives the unset key as empty: an empty secret is refused as an unset one is, never sent upstream.
  expect(env.ANTHROPIC_API_KEY).toBe('')
  env.TOLLGATE_CONFIG = join(ROOT, 'deploy', 'tollgate.yaml')
  expect(() => loadConfig(env)).toThrow('providers.anthropic.api_key: environment variable ANTHROPIC_API_KEY is empty')
})
