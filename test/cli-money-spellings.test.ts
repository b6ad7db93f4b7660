/**
 * A money option on the command line is an amount in plain decimal digits (`5`, `0.25`), nothing JavaScript's
 * Number() also reads: `--budget 0x10` made a $16 ceiling, `--budget 1e3` a $1000 one, and padded or signed
 * text passed as well. Every other spelling is a mistake on the command line (exit 2, naming the option), and
 * nothing is written. Whole-number options (`--rpm`) take digits only, for the same reason.
 */
import { expect, test } from 'bun:test'
import { withMockGateway } from './support/mock-gateway'
import type { TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'

let gw: TestGateway
withMockGateway({}, (s) => ({ gw } = s))

let users = 0
/** A user of its own for each test: a key wrongly created by one must not decide another's outcome. */
async function freshUser(): Promise<string> {
  const id = `money-${++users}`
  await gw.admin('POST', '/v1/users', { id })
  return id
}
const keysOf = async (user: string) => (await gw.admin('GET', `/v1/keys?user_id=${user}`)).body.data as unknown[]

for (const spelling of ['0x10', '1e3', '1E3', 'Infinity', '-Infinity', ' 5 ', '+5', '-5', '0b11', '0o7', '.5', '5.', '1_000', `1${'0'.repeat(400)}`]) {
  const shown = spelling.length > 20 ? `of ${spelling.length} digits (Infinity to Number)` : JSON.stringify(spelling)
  test(`--budget ${shown} is refused naming the option, and no key is created`, async () => {
    const user = await freshUser()
    const run = await runTollgate(gw.url, ['keys', 'create', user, '--budget', spelling, '--json'])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('--budget must be an amount in USD in digits')
    expect(await keysOf(user)).toEqual([])
  })
}

test('a price and a user budget in another spelling are refused the same way', async () => {
  const price = await runTollgate(gw.url, ['prices', 'set', 'mock:gpt-spelled', '--input', '1e-3', '--output', '1'])
  expect([price.code, price.stderr.includes('--input must be an amount in USD in digits')]).toEqual([2, true])
  expect((await gw.admin('GET', '/v1/pricing/mock:gpt-spelled')).status).toBe(404)
  const user = await freshUser()
  const update = await runTollgate(gw.url, ['users', 'update', user, '--budget', '0x10'])
  expect([update.code, update.stderr.includes('--budget must be an amount in USD in digits')]).toEqual([2, true])
  expect((await gw.admin('GET', `/v1/users/${user}`)).body.max_budget).toBeNull()
})

test('a whole-number option takes digits only', async () => {
  const user = await freshUser()
  for (const spelling of ['1e2', '0x3c', ' 60']) {
    const run = await runTollgate(gw.url, ['keys', 'create', user, '--rpm', spelling])
    expect([spelling, run.code, run.stderr.includes('--rpm must be a whole number in digits')]).toEqual([spelling, 2, true])
  }
  expect(await keysOf(user)).toEqual([])
})

test('plain amounts are taken as written', async () => {
  const user = await freshUser()
  const run = await runTollgate(gw.url, ['keys', 'create', user, '--budget', '12.50', '--rpm', '60', '--json'])
  expect(run.code).toBe(0)
  expect(JSON.parse(run.stdout)).toMatchObject({ max_budget: 12.5, rpm_limit: 60 })
  const price = await runTollgate(gw.url, ['prices', 'set', 'mock:gpt-plain', '--input', '0.25', '--output', '2', '--json'])
  expect(price.code).toBe(0)
  expect(JSON.parse(price.stdout)).toMatchObject({ input_per_million: 0.25, output_per_million: 2 })
})
