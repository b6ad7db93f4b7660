/**
 * `npm run demo`: a gateway with a built-in mock provider, a priced model, a user with a $1 budget and
 * a key, so a newcomer sees a priced, budgeted completion end to end without any provider account.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { configSchema } from '../src/config/schema'
import { startGateway } from '../src/server'
import { PortInUseError } from '../src/workers/port-in-use'
import { startMockProvider } from '../test/support/mock-provider'

const port = process.env.TOLLGATE_PORT ?? 8080
// Always a key of its own, never TOLLGATE_MASTER_KEY: the demo prints its master key, and secrets are never
// printed (SPEC §2). This one dies with the demo's throw-away database.
const masterKey = `demo-master-${crypto.randomUUID()}`
const mock = startMockProvider({ chunks: 8, chunkDelayMs: 40 })
const dbDir = mkdtempSync(join(tmpdir(), 'tollgate-demo-'))

const config = configSchema.parse({
  master_key: masterKey,
  port,
  db: join(dbDir, 'demo.db'),
  providers: { mock: { type: 'openai', base_url: `${mock.url}/v1`, api_key: 'demo-upstream-key' } },
  aliases: { demo: 'mock:gpt-demo' },
  pricing: { 'mock:gpt-demo': { input_per_million: 2.5, output_per_million: 10 } },
})
const gateway = await startGateway(config).catch(async (error) => {
  if (!(error instanceof PortInUseError)) throw error
  // Something already listens there (often a demo left running): a newcomer needs the way out, not a stack trace.
  await mock.stop()
  rmSync(dbDir, { recursive: true, force: true })
  console.error(
    `tollgate demo: port ${config.port} on ${config.host} is already in use; stop what listens there, or pick another port: TOLLGATE_PORT=${config.port === 8080 ? 8081 : 8080} npm run demo (TOLLGATE_PORT=0 takes any free one)`,
  )
  process.exit(1)
})

const admin = async (path: string, body: unknown) => {
  const res = await fetch(gateway.url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${masterKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return (await res.json()) as { key?: string }
}
await admin('/v1/users', { id: 'demo-team', alias: 'Demo team', max_budget: 1, budget_period: 'monthly' })
const { key } = await admin('/v1/keys', { user_id: 'demo-team', name: 'demo' })
// One request made with the demo key at once, so that the console's Overview chart has something to show.
const first = await fetch(`${gateway.url}/v1/chat/completions`, {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'Hello from the demo!' }] }),
})
if (!first.ok) throw new Error(`the demo's first request failed: ${first.status} ${await first.text()}`)
await first.text()

console.log(`
tollgate demo running on ${gateway.url}  (mock provider on ${mock.url}, database ${dbDir})

  demo key:    ${key}
  master key:  ${masterKey}  (made for this demo${process.env.TOLLGATE_MASTER_KEY ? '; TOLLGATE_MASTER_KEY is not used' : ''})

Ask for a completion (the model "demo" is an alias of mock:gpt-demo, priced $2.50/$10 per million tokens):

  curl -s ${gateway.url}/v1/chat/completions -H "Authorization: Bearer ${key}" \\
    -H "Content-Type: application/json" -d '{"model":"demo","messages":[{"role":"user","content":"Hello!"}]}'

Then see what it cost and what is left of the $1 budget:

  curl -s ${gateway.url}/v1/users/demo-team -H "Authorization: Bearer ${masterKey}"
  curl -s ${gateway.url}/v1/usage -H "Authorization: Bearer ${masterKey}"

Admin console: ${gateway.url}/ui   (sign in with the master key above: the demo's first request is on the
Overview chart; or sign in with the demo key to see that key's own budget and usage)

API docs: ${gateway.url}/docs      Stop with Ctrl-C.
`)

// Ctrl-C under npm comes twice (the terminal's SIGINT and the one npm passes on): one stop, one exit.
let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  await gateway.stop()
  await mock.stop()
  // The demo's database is a throw-away: nothing is left behind.
  rmSync(dbDir, { recursive: true, force: true })
  process.exit(0)
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, stop)
