/** Polls `check` every 25 ms until it holds or `ms` pass; says which. */
export async function waitFor(ms: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await Bun.sleep(25)
  }
  return false
}

/** Polls `check` every 10 ms until it holds or `ms` pass; returns how long it took (or Infinity). */
export async function within(ms: number, check: () => Promise<boolean>): Promise<number> {
  const start = performance.now()
  while (performance.now() - start < ms) {
    if (await check()) return performance.now() - start
    await Bun.sleep(10)
  }
  return Infinity
}

/**
 * Waits until a gateway's /health says it reaches Redis. A gateway serves after waiting at most a second for
 * Redis at startup (in the failure mode until it answers); on a loaded machine the link can come up after that.
 */
export async function untilRedisUp(gatewayUrl: string, ms = 15_000): Promise<void> {
  const up = await waitFor(ms, async () => ((await (await fetch(`${gatewayUrl}/health`)).json()) as { redis?: string }).redis === 'up')
  if (!up) throw new Error(`${gatewayUrl} did not reach Redis within ${ms} ms`)
}
