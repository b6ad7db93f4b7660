/**
 * README "Settings": a `pricing` seed is `{input_per_million, output_per_million, cached_input_per_million?,
 * per_request?, …}` (the two rates without `?`), and its example says "explicit 0/0 = served free"; POST /v1/pricing
 * requires both rates too. A seed that left `output_per_million` out served every output token free, and `{}` (a row
 * left to be filled in) served the model free outright, while require_pricing is meant to refuse a model nobody priced.
 */
import { afterAll, expect, test } from 'bun:test'
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError, loadConfig } from '../src/config/load'
import { MASTER_KEY, tempDir } from './support/gateway'

const dir = tempDir('tollgate-seed-rates-')
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function outcome(pricing: string): string {
  const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`)
  writeFileSync(file, `providers:\n  oai: { type: openai, base_url: https://api.openai.com/v1 }\npricing:\n${pricing}`)
  try {
    return `accepted: ${JSON.stringify(loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_DB: ':memory:', TOLLGATE_CONFIG: file }).pricing)}`
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    return `refused: ${error.message}`
  }
}

test('a seed without output_per_million is refused, naming it, not read as free output', () => {
  expect(outcome('  oai:gpt-4o: { input_per_million: 2.5 }\n')).toMatch(/^refused: [\s\S]*pricing\.oai:gpt-4o\.output_per_million: is required/)
})

test('an empty seed is refused, naming both rates, not a 0/0 row serving the model free', () => {
  const message = outcome('  oai:gpt-4o: {}\n')
  expect(message).toMatch(/^refused: [\s\S]*pricing\.oai:gpt-4o\.input_per_million: is required/)
  expect(message).toMatch(/pricing\.oai:gpt-4o\.output_per_million: is required/)
})

test('a per-request seed says its token rates: without them it is refused', () => {
  expect(outcome('  oai:whisper-1: { per_request: 0.006 }\n')).toMatch(/^refused: [\s\S]*oai:whisper-1\.input_per_million/)
  expect(outcome('  oai:whisper-1: { input_per_million: 0, output_per_million: 0, per_request: 0.006 }\n')).toStartWith('accepted: ')
})

test('explicit 0/0 is still taken (served free, as the README\'s example says)', () => {
  expect(outcome('  oai:llama3: { input_per_million: 0, output_per_million: 0 }\n')).toBe(
    `accepted: ${JSON.stringify({ 'oai:llama3': { input_per_million: 0, output_per_million: 0 } })}`,
  )
})
