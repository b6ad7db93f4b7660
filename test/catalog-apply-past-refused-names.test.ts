/**
 * README, "The price catalog": `prices catalog` lists "those refused for lack of a price" (any name a key holder
 * asked for), and `--apply` "writes the new and changed rows". A key holder asks for a name the catalog matches
 * (genai-prices matches Anthropic ids by prefix) but the admin API refuses to price (a zero-width space, a trailing
 * space: writtenModelName). `--apply` then POSTs it, is refused 400, and stops there with exit 1: every row sorted
 * after it (other models' new or changed catalog prices) is never written, on this run or any later one, for as
 * long as the refused name stays recorded. One request by any key holder turns off the operator's catalog updates.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { mockProviders, startTestGateway, type TestGateway } from './support/gateway'
import { runTollgate } from './support/cli'
import { AdminApiError, adminApi, type AdminApi } from '../src/cli/admin-api'
import { parseArgs } from '../src/cli/args'
import { catalogCommand } from '../src/cli/catalog-command'
import { MASTER_KEY } from './support/gateway'

let mock: MockProvider
let gw: TestGateway

beforeAll(async () => {
  mock = startMockProvider()
  const { mock: openai, mockant: anthropic } = mockProviders(mock)
  gw = await startTestGateway({
    mock,
    config: {
      providers: { ant: { ...anthropic, catalog: 'anthropic' }, oai: { ...openai, catalog: 'openai' } },
      // Priced below the catalog (gpt-4o: 2.5 / 10): the catalog run is how the operator keeps it right.
      pricing: { 'oai:gpt-4o': { input_per_million: 2, output_per_million: 8 } },
      alerts: { check_interval_ms: 50 },
    },
  })
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})

test("a name a key holder asked for does not stop `prices catalog --apply` from writing the other models' prices", async () => {
  const { secret } = await gw.userWithKey({ id: 'asker' })
  for (const model of ['ant:claude-haiku-4-5\u200b', 'ant:claude-haiku-4-5 ']) {
    const refused = await fetch(`${gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model, max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
    })
    expect(refused.status).toBe(402)
  }
  await Bun.sleep(300)

  const diff = await runTollgate(gw.url, ['prices', 'catalog', '--json'])
  expect(diff.code).toBe(0)
  const lines = JSON.parse(diff.stdout).models.map((m: any) => `${JSON.stringify(m.model)} ${m.status}`)
  console.log(lines.join('\n'))

  const applied = await runTollgate(gw.url, ['prices', 'catalog', '--apply'])
  const gpt4o = (await gw.admin('GET', '/v1/pricing/oai:gpt-4o')).body
  expect({ code: applied.code, stderr: applied.stderr.trim(), gpt4o: [gpt4o.input_per_million, gpt4o.output_per_million] })
    .toEqual({ code: 0, stderr: '', gpt4o: [2.5, 10] })
})

test('--apply goes on past a row the gateway refuses, says which rows were written and which not, and reports the failure', async () => {
  // Both below the catalog again; the first, sorted before gpt-4o, is refused (as another change landing meanwhile would be).
  for (const [model, input, output] of [['ant:claude-haiku-4-5', 0.5, 1], ['oai:gpt-4o', 2, 8]] as const)
    expect((await gw.admin('POST', '/v1/pricing', { model, input_per_million: input, output_per_million: output })).status).toBe(201)
  const api = adminApi({ TOLLGATE_URL: gw.url, TOLLGATE_MASTER_KEY: MASTER_KEY })
  const refusing: AdminApi = {
    ...api,
    call: async (method, path, body?: any) => {
      if (method === 'POST' && body?.model === 'ant:claude-haiku-4-5') throw new AdminApiError(409, '409: The price in force changed')
      return api.call(method, path, body)
    },
  }

  const shown: any = await catalogCommand(refusing, parseArgs(['--apply'], new Set(['apply'])))

  const line = (model: string) => shown.json.models.find((m: any) => m.model === model && m.effective_from === null)
  expect(line('ant:claude-haiku-4-5').changes).toEndWith('not applied: 409: The price in force changed')
  expect(line('oai:gpt-4o').changes).toEndWith('applied')
  expect(shown.json.failed).toEqual([{ model: 'ant:claude-haiku-4-5', effective_from: null, error: '409: The price in force changed' }])
  expect(shown.error).toMatch(/^1 of \d+ rows not written: ant:claude-haiku-4-5$/)
  const gpt4o = (await gw.admin('GET', '/v1/pricing/oai:gpt-4o')).body
  expect([gpt4o.input_per_million, gpt4o.output_per_million]).toEqual([2.5, 10])
})

test('`prices catalog --apply` prints every row, then exits 1 naming the rows the gateway refused', async () => {
  // A stand-in for the admin API: two models priced below the catalog, the first one's new row refused.
  const written: string[] = []
  const row = (id: number, model: string) => ({ id, model, input_per_million: 0.01, output_per_million: 0.02, effective_from: new Date(0).toISOString(), source: null })
  const list = (data: unknown[]) => Response.json({ data, next_cursor: null })
  const api = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: async (req) => {
      const path = new URL(req.url).pathname
      if (path === '/v1/providers') return list([{ name: 'oai', catalog: 'openai', aliases: {} }])
      if (path === '/v1/pricing' && req.method === 'GET') return list([row(1, 'oai:gpt-4o'), row(2, 'oai:gpt-4o-mini')])
      if (path === '/v1/pricing/history' || path === '/v1/pricing/unpriced') return list([])
      if (path === '/v1/pricing' && req.method === 'POST') {
        const { model } = (await req.json()) as { model: string }
        if (model === 'oai:gpt-4o') return Response.json({ error: { message: 'refused for the test' } }, { status: 400 })
        written.push(model)
        return Response.json(row(3, model), { status: 201 })
      }
      return new Response('not found', { status: 404 })
    },
  })
  try {
    const applied = await runTollgate(`http://127.0.0.1:${api.port}`, ['prices', 'catalog', '--apply'])
    expect(written).toEqual(['oai:gpt-4o-mini'])
    expect(applied.stdout).toMatch(/oai:gpt-4o .*not applied: 400: refused for the test/)
    expect(applied.stdout).toMatch(/oai:gpt-4o-mini .*; applied/)
    expect({ code: applied.code, stderr: applied.stderr.trim() }).toEqual({ code: 1, stderr: 'tollgate: 1 of 2 rows not written: oai:gpt-4o' })
  } finally {
    api.stop(true)
  }
})
