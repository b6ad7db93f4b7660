/**
 * SPEC §11: "TOLLGATE_WORKERS=N runs N processes on one host sharing the port; otherwise a gateway never shares a
 * port with another (a port in use stops startup)". The port's lock keeps out only another tollgate that takes it;
 * the workers bind with SO_REUSEPORT, which the kernel lets any other listener of the same user that set it too
 * join — any Elysia app (its Bun adapter sets reusePort), or a tollgate of an older version still running there.
 * The group must refuse to start on a port another program listens on, as a single gateway does, instead of
 * splitting the traffic with it.
 */
import { afterEach, expect, test } from 'bun:test'
import { freePort } from './support/free-port'
import { waitFor } from './support/wait-for'
import { spawnWorkerGroup } from './support/worker-group'

const cleanups: Array<() => Promise<void> | void> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

test('a worker group on a port another program listens on (with SO_REUSEPORT) refuses to start, and shares nothing with it', async () => {
  const port = freePort()
  // Another program already serving the port (an Elysia app, an older gateway): it listens with SO_REUSEPORT.
  const foreign = Bun.serve({ hostname: '127.0.0.1', port, reusePort: true, fetch: () => new Response('not tollgate') })
  cleanups.push(() => foreign.stop(true))

  const { primary: proc, output: out } = spawnWorkerGroup({ port, workers: 2 }, cleanups)
  await waitFor(20_000, () => proc.exitCode !== null || out().includes('workers sharing the port'))

  // What clients of the port now reach: each new connection is given to one of the listeners by the kernel.
  const answers = new Set<string>()
  if (proc.exitCode === null)
    for (let i = 0; i < 30; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { headers: { connection: 'close' } })
      answers.add(res.headers.has('x-request-id') ? 'tollgate' : await res.text())
    }
  // Not started, nothing of the port's traffic reaches the group: the other program keeps it whole.
  expect({ groupStarted: out().includes('workers sharing the port'), answeredBy: [...answers].sort() }).toEqual({
    groupStarted: false,
    answeredBy: [],
  })
  // Refused as a single gateway is (test/startup-hardening.test.ts): exit 1, saying the port is in use.
  expect(proc.exitCode).toBe(1)
  // The pipes are read on their own: the last line may come in just after the exit.
  await waitFor(5_000, () => out().includes('already in use'))
  expect(out()).toContain(`port ${port} on 127.0.0.1 is already in use`)
}, 60_000)
