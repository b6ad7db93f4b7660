/**
 * For the tests of what a request from a key with no budget left costs the gateway: a provider (`up`, OpenAI type)
 * that is never to be called (it counts its calls and answers 500), a spawned gateway in front of it (`up:gpt-x` at
 * $1/$2 per million, warnings only) with a key of each user, each with a budget of a micro-dollar, its request thread
 * let settle; started before the file's tests, stopped after them.
 */
import { afterAll, beforeAll } from 'bun:test'
import { spawnGateway, type SpawnedGateway } from './gateway'
import { quietThread } from './request-thread-hold'

export interface BrokeKeyGateway {
  gw: SpawnedGateway
  /** One key's secret per user, in order. */
  secrets: string[]
  /** How many calls reached the provider. */
  calls(): number
}

export function withBrokeKeyGateway(users: string[], use: (started: BrokeKeyGateway) => void): void {
  let calls = 0
  const upstream = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      await req.arrayBuffer()
      calls++
      return Response.json({ error: { message: 'never called' } }, { status: 500 })
    },
  })
  let gw: SpawnedGateway | undefined
  beforeAll(async () => {
    gw = await spawnGateway({
      config: {
        log_level: 'warn',
        providers: { up: { type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: 'sk-up-0123456789abcdef' } },
        pricing: { 'up:gpt-x': { input_per_million: 1, output_per_million: 2 } },
      },
    })
    const secrets: string[] = []
    for (const id of users) secrets.push((await gw.userWithKey({ id, max_budget: 0.000001 })).secret)
    await quietThread(gw.proc.pid)
    use({ gw, secrets, calls: () => calls })
  }, 60_000)
  afterAll(async () => {
    await gw?.stop()
    upstream.stop(true)
  })
}
