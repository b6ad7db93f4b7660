/**
 * `npm run demo` prints a master key: it must be one the demo made, never the operator's own
 * TOLLGATE_MASTER_KEY (SPEC §2: secrets are never logged).
 */
import { expect, test } from 'bun:test'
import { join } from 'node:path'
import { BUN, capturedOutput, ROOT } from './support/gateway'

const OPERATOR_KEY = 'operator-master-key-do-not-print-0123456789'

test('the demo ignores TOLLGATE_MASTER_KEY, never prints it, the key it prints is the one that works, and its console shows the first request', async () => {
  const proc = Bun.spawn([BUN, join(ROOT, 'scripts', 'demo.ts')], {
    env: { PATH: process.env.PATH ?? '', TOLLGATE_MASTER_KEY: OPERATOR_KEY, TOLLGATE_PORT: '0' },
    stdout: 'pipe',
    stderr: 'pipe',
  })
  const output = capturedOutput(proc)
  try {
    const deadline = Date.now() + 10_000
    while (!/Stop with Ctrl-C/.test(output()) && proc.exitCode === null && Date.now() < deadline) await Bun.sleep(20)
    const out = output()
    expect(out).toContain('Stop with Ctrl-C')
    expect(out).not.toContain(OPERATOR_KEY)
    const url = /demo running on (http:\/\/\S+)/.exec(out)![1]!
    const printed = /master key:\s+(\S+)/.exec(out)![1]!
    const asPrinted = await fetch(`${url}/v1/users`, { headers: { authorization: `Bearer ${printed}` } })
    expect(asPrinted.status).toBe(200)
    const asOperator = await fetch(`${url}/v1/users`, { headers: { authorization: `Bearer ${OPERATOR_KEY}` } })
    expect(asOperator.status).toBe(401)
    // The console's link, and the demo's own first request already on the Overview chart's series.
    expect(out).toContain(`Admin console: ${url}/ui`)
    const daily: any = await (await fetch(`${url}/v1/usage/daily`, { headers: { authorization: `Bearer ${printed}` } })).json()
    expect(daily.series.map((s: any) => s.name)).toEqual(['mock:gpt-demo'])
    expect(daily.series[0].cost.at(-1)).toBeGreaterThan(0)
  } finally {
    proc.kill('SIGTERM')
    await proc.exited
  }
})
