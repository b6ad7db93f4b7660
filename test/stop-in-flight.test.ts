/**
 * Stopping the gateway with money in flight, as every deploy does: a child gateway on a real SQLite file, a
 * mock provider answering slowly, and the signals a container runtime sends (SIGTERM, then SIGKILL once its
 * stop timeout, 10 s by default, has passed). SIGTERM closes the listener at once, whatever else is under
 * way; the requests in flight get TOLLGATE_SHUTDOWN_GRACE_MS to finish, then the provider calls still
 * running are cut and settled by the gateway as its own timeout settles them (a stream what it generated, a
 * JSON call its whole hold), each with its request-log row, all before the runtime's SIGKILL.
 */
import { afterEach, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { startMockProvider } from './support/mock-provider'
import { mockProviders, spawnGateway, tempDir, type SpawnedGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'
import { Ledger, type LedgerStore, type Outcome } from '../src/budget/ledger'
import { GatewayError } from '../src/http/errors'
import { callUpstream } from '../src/providers/call'

const PRICING = { 'mock:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } }
const SLOW_PRICING = { ...PRICING, 'slow:gpt-mock': { input_per_million: 1000, output_per_million: 2000 } }
const toStop: Array<{ stop(): unknown }> = []
const dirs: string[] = []
afterEach(async () => {
  for (const s of toStop.splice(0)) await s.stop()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

const chatBody = (model: string, stream: boolean) =>
  JSON.stringify({ model, stream, max_tokens: 1000, messages: [{ role: 'user', content: 'Tell me about the sea.' }] })
const post = (gw: SpawnedGateway, secret: string, body: string) =>
  fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body })

/** Starts a stream and resolves once its first content delta has arrived; the rest is read in the background. */
async function streamStarted(gw: SpawnedGateway, secret: string): Promise<void> {
  const res = await post(gw, secret, chatBody('mock:gpt-mock', true))
  const reader = res.body!.getReader()
  let seen = ''
  while (!/"content":"[^"]/.test(seen)) {
    const { value, done } = await reader.read()
    if (done) throw new Error('stream ended early')
    seen += new TextDecoder().decode(value)
  }
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) break
    } catch {
      // cut by the stop
    }
  })()
}

function dbFile() {
  const dir = tempDir()
  dirs.push(dir)
  return join(dir, 'tollgate.db')
}

function ledgerState(dbPath: string) {
  const db = new Database(dbPath, { readonly: true })
  try {
    return {
      openHolds: db.query('SELECT amount FROM reservations').all().map((r: any) => r.amount as number),
      usage: db.query('SELECT status, cost, reserved, stream FROM usage').all() as Array<{ status: string; cost: number; reserved: number; stream: number }>,
      chatLogRows: (db.query(`SELECT count(*) AS n FROM api_request_log WHERE route = '/v1/chat/completions'`).get() as any).n as number,
    }
  } finally {
    db.close()
  }
}

test('after SIGTERM no new request reaches a provider, even while an alert delivery is still waiting on its webhook', async () => {
  const mock = startMockProvider()
  const receiver: WebhookReceiver = startWebhookReceiver()
  toStop.push(mock, receiver)
  receiver.script('hang') // the operator's webhook is slow to answer (delivery_timeout_ms: 10 s by default)
  const gw = await spawnGateway({ mock, config: { alerts: { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } } } } })
  toStop.push(gw)
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: 100 })
  const other = await gw.userWithKey({ id: 'other' })
  await gw.admin('DELETE', `/v1/keys/${other.keyId}`) // raises key_revoked: delivered at once, and the webhook hangs
  await receiver.waitFor(1)

  gw.proc.kill('SIGTERM')
  await Bun.sleep(1_000)
  const callsAtStop = mock.calls.length
  // A request a second after SIGTERM (a load balancer that has not noticed yet): it must be refused, not held and sent on.
  const status = await post(gw, secret, chatBody('mock:gpt-mock', false)).then((r) => r.status, () => 'refused')
  expect({ served: status === 200, providerCallsAfterSigterm: mock.calls.length - callsAtStop }).toEqual({ served: false, providerCallsAfterSigterm: 0 })
  await gw.proc.exited
}, 60_000)

test('a container stop (SIGTERM, SIGKILL 10 s later as docker/podman do) with long streams in flight leaves no hold for the sweeper to charge in full', async () => {
  // Streams of 40 deltas, 500 ms apart: 20 s each, longer than any stop timeout.
  const mock = startMockProvider({ chunks: 40, chunkDelayMs: 500 })
  toStop.push(mock)
  const dbPath = dbFile()
  const gw = await spawnGateway({ mock, dbPath, config: { pricing: PRICING } })
  toStop.push(gw)
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: 100 })
  await Promise.all([1, 2, 3].map(() => streamStarted(gw, secret)))

  gw.proc.kill('SIGTERM')
  const killer = setTimeout(() => gw.proc.kill('SIGKILL'), 10_000) // `docker stop` / `podman stop` default timeout
  await gw.proc.exited
  clearTimeout(killer)

  const { openHolds, usage } = ledgerState(dbPath)
  // Each cut stream settled at what it generated (well under its hold), none left open to be charged its
  // whole hold by the sweeper after the TTL. The gateway cut it, not its client: its row says `error`, as
  // for a stream cut at the gateway's own timeout (`aborted` says the client left).
  expect({
    exitedBeforeKill: gw.proc.signalCode !== 'SIGKILL',
    openHolds,
    cutStreamsSettled: usage.filter((u) => u.stream === 1 && u.status === 'error' && u.cost > 0 && u.cost < u.reserved).length,
  }).toEqual({ exitedBeforeKill: true, openHolds: [], cutStreamsSettled: 3 })
}, 60_000)

test('a clean stop that cuts JSON calls still waiting on their provider records them and leaves no hold open', async () => {
  const mock = startMockProvider()
  const slow = startMockProvider({ latencyMs: 30_000 }) // a long non-stream generation
  toStop.push(mock, slow)
  const dbPath = dbFile()
  const gw = await spawnGateway({
    mock,
    dbPath,
    config: {
      providers: { ...mockProviders(mock), slow: { type: 'openai', base_url: `${slow.url}/v1`, api_key: 'sk-upstream-secret-0123456789' } },
      pricing: SLOW_PRICING,
      // What the grace's end does is the point here, not its length: a second of it, not the default's 8.
      shutdown_grace_ms: 1_000,
    },
  })
  toStop.push(gw)
  const { secret } = await gw.userWithKey({ id: 'team', max_budget: 100 })
  const calls = [1, 2].map(() => post(gw, secret, chatBody('slow:gpt-mock', false)).then((r) => r.status, () => 'cut'))
  while (slow.calls.length < 2) await Bun.sleep(20)

  gw.proc.kill('SIGTERM') // a clean stop: no SIGKILL follows
  expect(await gw.proc.exited).toBe(0)
  await Promise.all(calls)

  const { openHolds, usage, chatLogRows } = ledgerState(dbPath)
  // The provider received both calls and the gateway cut them at its own stop: every request is recorded
  // (SPEC §8, one api_request_log row per /v1/* request) and settled by the process that took its hold
  // (at least its input estimate, SPEC §6), not left open for the sweeper to find after the TTL as "expired".
  expect({ openHolds, settledByTheGateway: usage.filter((u) => u.cost > 0 && u.status !== 'expired').length, chatLogRows }).toEqual({
    openHolds: [],
    settledByTheGateway: 2,
    chatLogRows: 2,
  })
}, 60_000)

/** A ledger whose store takes every hold and keeps the settlements, and a provider that counts its calls and answers after `answerMs`. */
async function ledgerAndProvider(answerMs: number) {
  const settled: Outcome[] = []
  const store: LedgerStore = {
    reserve: async (request, now) => ({ id: 1, request, createdAt: now, remainingAfter: null }),
    settle: (_hold, outcome) => void settled.push(outcome),
    sweepBatch: async () => [],
    sweepStep: 100,
    userExists: async () => true,
    flush: async () => {},
  }
  const ledger = new Ledger(store, 60_000)
  const hold = await ledger.reserve({
    requestId: 'r1', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
  })
  let calls = 0
  const upstream = Bun.serve({
    port: 0,
    fetch: async () => {
      calls++
      await Bun.sleep(answerMs)
      return Response.json({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } })
    },
  })
  toStop.push({ stop: () => upstream.stop(true) })
  const call = () =>
    callUpstream({ type: 'openai', base_url: `http://127.0.0.1:${upstream.port}/v1`, api_key: '', headers: {} }, '/chat/completions', {}, {
      hold, timeoutMs: 30_000, clientSignal: new AbortController().signal,
    })
  return { ledger, settled, call, calls: () => calls }
}

test('a JSON call running when the stop cuts the calls is settled as one cut at the gateway\'s timeout: its whole hold, status error, 503 gateway_stopping', async () => {
  const { ledger, settled, call, calls } = await ledgerAndProvider(30_000)
  const answer = call().catch((error) => error)
  while (calls() === 0) await Bun.sleep(5)
  ledger.cutCalls()
  const error = await answer
  expect(error).toBeInstanceOf(GatewayError)
  expect({ status: error.status, code: error.code }).toEqual({ status: 503, code: 'gateway_stopping' })
  expect(settled.map((o) => ({ cost: o.cost, status: o.status }))).toEqual([{ cost: 5_000, status: 'error' }])
  expect(ledger.openHolds).toBe(0)
})

test('a call that reaches its provider only after the stop cut the calls is not sent: released at $0, 503 gateway_stopping', async () => {
  const { ledger, settled, call, calls } = await ledgerAndProvider(0)
  ledger.cutCalls()
  const error = await call().catch((e) => e)
  expect({ status: error.status, code: error.code }).toEqual({ status: 503, code: 'gateway_stopping' })
  expect(calls()).toBe(0)
  expect(settled.map((o) => ({ cost: o.cost, status: o.status }))).toEqual([{ cost: 0, status: 'error' }])
  expect(ledger.openHolds).toBe(0)
})

test('a hold asked for once the stop has cut the calls is refused: 503 gateway_stopping, nothing reserved', async () => {
  const { ledger } = await ledgerAndProvider(0)
  ledger.cutCalls()
  const error = await ledger
    .reserve({ requestId: 'r2', userId: 'u', keyId: null, keyHash: null, amount: 5_000, model: 'p:m', provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false })
    .catch((e) => e)
  expect({ status: error.status, code: error.code }).toEqual({ status: 503, code: 'gateway_stopping' })
  expect(ledger.openHolds).toBe(1) // the hold taken before the cut, not this one
})
