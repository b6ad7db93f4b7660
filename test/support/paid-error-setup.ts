/**
 * What the tests of a client's retries after a paid error start from (test/clients/*-paid-error-not-retried): a
 * provider whose answers the test writes (the scripted upstream, as `plain` and `ant`), a gateway in front of it
 * pricing `plain:m` and `ant:m`, one user with a key, and the count of what a client's run sent the provider and
 * was charged for it.
 */
import { startTestGateway, type TestGateway } from './gateway'
import { scriptedProviders, startScriptedUpstream, type ScriptedUpstream } from './scripted-upstream'

export interface PaidErrorSetup {
  upstream: ScriptedUpstream
  gw: TestGateway
  secret: string
  /** Runs what the client does; returns its result, the provider calls to `path` it caused and the usage rows charged. */
  sentAndCharged<T>(path: string, run: () => Promise<T>): Promise<{ result: T; providerCalls: number; charged: number }>
  stop(): Promise<void>
}

export async function startPaidErrorSetup(userId: string, key: Record<string, unknown> = {}): Promise<PaidErrorSetup> {
  const upstream = startScriptedUpstream()
  const gw = await startTestGateway({
    config: {
      providers: scriptedProviders(upstream),
      pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'ant:m': { input_per_million: 1, output_per_million: 2 } },
    },
  })
  const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 }, key)
  const usageRows = (): number => gw.query('SELECT count(*) AS n FROM usage WHERE user_id = ?', userId)[0].n
  return {
    upstream,
    gw,
    secret,
    async sentAndCharged(path, run) {
      const before = upstream.calls.length
      await gw.settled()
      const rowsBefore = usageRows()
      const result = await run()
      await gw.settled()
      return { result, providerCalls: upstream.calls.slice(before).filter((c) => c.path === path).length, charged: usageRows() - rowsBefore }
    },
    async stop() {
      await gw.stop()
      await upstream.stop()
    },
  }
}
