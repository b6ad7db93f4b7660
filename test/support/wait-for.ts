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
