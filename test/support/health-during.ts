/**
 * The slowest /health answer of the gateway at `url` while `work` runs: a /health request is always in flight
 * meanwhile, so a request that holds the gateway's thread shows as one long answer.
 */
export async function worstHealthDuring(url: string, work: Promise<unknown>): Promise<number> {
  let done = false
  void work.finally(() => {
    done = true
  })
  let worst = 0
  while (!done) {
    const t = performance.now()
    const res = await fetch(`${url}/health`)
    await res.arrayBuffer()
    worst = Math.max(worst, performance.now() - t)
  }
  await work
  return worst
}
