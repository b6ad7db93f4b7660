/**
 * For the tests of what a request from a key with no budget left costs the gateway: a provider (`up`, OpenAI type)
 * that is never to be called (it counts its calls and answers 500), a spawned gateway in front of it (`up:gpt-x` at
 * $1/$2 per million, warnings only) with a key of each user, each with a budget of a micro-dollar, its request thread
 * let settle; started before the file's tests, stopped after them.
 */
import { afterAll, beforeAll } from 'bun:test'
import { startCountingUpstream } from './counting-upstream'
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
  const upstream = startCountingUpstream(() => Response.json({ error: { message: 'never called' } }, { status: 500 }))
  let gw: SpawnedGateway | undefined
  beforeAll(async () => {
    gw = await spawnGateway({
      config: {
        log_level: 'warn',
        providers: upstream.providers,
        pricing: { 'up:gpt-x': { input_per_million: 1, output_per_million: 2 } },
      },
    })
    const secrets: string[] = []
    for (const id of users) secrets.push((await gw.userWithKey({ id, max_budget: 0.000001 })).secret)
    await quietThread(gw.proc.pid)
    use({ gw, secrets, calls: upstream.calls })
  }, 60_000)
  afterAll(async () => {
    await gw?.stop()
    upstream.stop()
  })
}
