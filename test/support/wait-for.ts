/** Polls `check` every 25 ms until it holds or `ms` pass; says which. */
export async function waitFor(ms: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return true
    await Bun.sleep(25)
  }
  return false
}
