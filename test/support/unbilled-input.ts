import type { TestGateway } from './gateway'

/** The input tokens /metrics counts as not charged for a provider, all its models (`tollgate_unbilled_input_tokens_total`). */
export async function unbilledInputTokens(gw: TestGateway, provider: string): Promise<number> {
  const metrics = await (await fetch(`${gw.url}/metrics`, { headers: gw.master })).text()
  let total = 0
  for (const line of metrics.split('\n'))
    if (line.startsWith('tollgate_unbilled_input_tokens_total{') && line.includes(`provider="${provider}"`)) total += Number(line.slice(line.lastIndexOf(' ') + 1))
  return total
}

/**
 * Runs `run` and returns the input tokens it left unbilled for `provider`, as /metrics counts them: with cap-output on,
 * a usage's input past the input held (`heldPromptTokens`).
 */
export async function unbilledInputOf(gw: TestGateway, provider: string, run: () => Promise<unknown>): Promise<number> {
  const before = await unbilledInputTokens(gw, provider)
  await run()
  return (await unbilledInputTokens(gw, provider)) - before
}
