/**
 * Mutation guard: a true/false setting from the environment takes `true`/`1`/`yes`
 * as on and `false`/`0`/`no` as off (schema.ts's `flag`, whose refusal names all six). A refactor that read one of
 * them the other way would flip a secure default without a word: `TOLLGATE_REQUIRE_PRICING=yes` serving unpriced
 * models, or `TOLLGATE_TRUST_PROXY=0` believing any client's X-Forwarded-For.
 */
import { expect, test } from 'bun:test'
import { loadConfig } from '../src/config/load'
import { MASTER_KEY } from './support/gateway'

const FLAGS = ['require_pricing', 'reject_user_mismatch', 'trust_proxy', 'disable_security_headers', 'cap_output_tokens', 'clamp_output', 'metrics_enabled'] as const
const SPELLINGS: Array<[string, boolean]> = [['true', true], ['1', true], ['yes', true], ['false', false], ['0', false], ['no', false]]

test('each spelling of on and off is read as written, for every flag', () => {
  const misread: string[] = []
  for (const flag of FLAGS)
    for (const [text, meant] of SPELLINGS) {
      const read = loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, [`TOLLGATE_${flag.toUpperCase()}`]: text })[flag]
      if (read !== meant) misread.push(`TOLLGATE_${flag.toUpperCase()}=${text} read as ${read}`)
    }
  expect(misread).toEqual([])
})

test('another spelling is refused, never taken as on or off', () => {
  for (const text of ['on', 'off', 'TRUE', 'y', '2'])
    expect(() => loadConfig({ TOLLGATE_MASTER_KEY: MASTER_KEY, TOLLGATE_TRUST_PROXY: text })).toThrow('trust_proxy (TOLLGATE_TRUST_PROXY): must be true or false')
})
