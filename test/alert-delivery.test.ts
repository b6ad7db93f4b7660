/**
 * Mutation guards for webhook delivery (README "Budget alerts": "redirects not followed", "Any 2xx is
 * success", "retry_base_ms: first retry; doubles each time, at most an hour apart"), for the alert list (each alert
 * with its own deliveries), and for the webhook URL (with a token or credentials in it, as Slack's and many
 * receivers' are) kept out of the logs and the API.
 */
import { afterAll, afterEach, beforeAll, describe, expect, spyOn, test } from 'bun:test'
import { retryDelay } from '../src/alerts/delivery'
import { startMockProvider, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver'
import { waitFor } from './support/wait-for'

const SECRET = 'webhook-secret-0123456789abcdef'

let mock: MockProvider
let receiver: WebhookReceiver | undefined
let gw: TestGateway | undefined
let extra: { stop(force?: boolean): unknown } | undefined

beforeAll(() => {
  mock = startMockProvider()
})
afterAll(async () => {
  await mock.stop()
})
afterEach(async () => {
  await gw?.stop()
  gw = undefined
  receiver?.stop()
  receiver = undefined
  extra?.stop(true)
  extra = undefined
})

const alerts = (url: string, more: Record<string, unknown> = {}) => ({
  alerts: { webhooks: { ops: { url, secret: SECRET } }, check_interval_ms: 50, retry_base_ms: 50, delivery_timeout_ms: 1_000, ...more },
})

describe('delivery', () => {
  test('a redirect is neither followed nor counted delivered: the delivery stays pending with its status as the error', async () => {
    receiver = startWebhookReceiver()
    const target = receiver.url
    let redirected = 0
    const redirector = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => {
        redirected++
        return new Response(null, { status: 307, headers: { location: target } })
      },
    })
    extra = redirector
    gw = await startTestGateway({ mock, config: alerts(`http://127.0.0.1:${redirector.port}/hook`, { retry_base_ms: 60_000 }) })
    await gw.admin('POST', '/v1/users', { id: 'redir' })
    await gw.admin('PATCH', '/v1/users/redir', { blocked: true })
    const deadline = Date.now() + 5_000
    while (redirected === 0 && Date.now() < deadline) await Bun.sleep(20)
    expect(redirected).toBe(1)
    const listed = async () => (await gw!.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
    await waitFor(5_000, async () => (await listed())[0]?.deliveries[0]?.last_error != null)
    expect(receiver.deliveries).toHaveLength(0)
    const [alert] = await listed()
    expect(alert.deliveries[0]).toMatchObject({ webhook: 'ops', status: 'pending', attempts: 1, last_error: 'HTTP 307', delivered_at: null })
  })

  test('a receiver that refuses the connection has its delivery failed after max_attempts, not retried forever', async () => {
    const closed = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response(null) })
    const port = closed.port
    closed.stop(true)
    gw = await startTestGateway({ mock, config: alerts(`http://127.0.0.1:${port}/hook`, { max_attempts: 2, delivery_timeout_ms: 300 }) })
    await gw.admin('POST', '/v1/users', { id: 'nobody' })
    await gw.admin('PATCH', '/v1/users/nobody', { blocked: true })
    let delivery: any
    const deadline = Date.now() + 3_000
    do {
      await Bun.sleep(50)
      delivery = (await gw.admin('GET', '/v1/alerts?kind=user_blocked')).body.data[0]?.deliveries[0]
    } while (delivery?.status !== 'failed' && Date.now() < deadline)
    expect(delivery).toMatchObject({ webhook: 'ops', status: 'failed', attempts: 2 })
    expect(delivery.last_error).toStartWith('no answer')
  })

  test('the backoff doubles and is capped at an hour, however many attempts', () => {
    expect([1, 2, 3, 4].map((a) => retryDelay(5_000, a))).toEqual([5_000, 10_000, 20_000, 40_000])
    expect(retryDelay(5_000, 12)).toBe(3_600_000)
    expect(retryDelay(5_000, 100)).toBe(3_600_000)
  })
})

describe('the list', () => {
  test('each alert lists its own deliveries only, with its own state', async () => {
    receiver = startWebhookReceiver()
    receiver.script(500)
    gw = await startTestGateway({ mock, config: alerts(receiver.url, { max_attempts: 1 }) })
    await gw.admin('POST', '/v1/users', { id: 'first' })
    await gw.admin('PATCH', '/v1/users/first', { blocked: true })
    await receiver.waitFor(1)
    await gw.admin('POST', '/v1/users', { id: 'second' })
    await gw.admin('PATCH', '/v1/users/second', { blocked: true })
    await receiver.waitFor(2)
    const all = async () => (await gw!.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
    await waitFor(5_000, async () => (await all()).every((a: any) => a.deliveries[0]?.status !== 'pending'))
    const listed = await all()
    expect(listed).toHaveLength(2)
    const bySubject = Object.fromEntries(listed.map((a: any) => [a.subject, a.deliveries]))
    expect(bySubject.first).toEqual([expect.objectContaining({ webhook: 'ops', status: 'failed', attempts: 1, last_error: 'HTTP 500' })])
    expect(bySubject.second).toEqual([expect.objectContaining({ webhook: 'ops', status: 'delivered', attempts: 1, last_error: null })])
  })
})

describe('the webhook URL', () => {
  test("a URL carrying credentials and a token is not written to the log or the API when its delivery fails", async () => {
    receiver = startWebhookReceiver()
    receiver.script(500)
    const url = new URL(receiver.url)
    url.username = 'hookuser'
    url.password = 'hunter2-pass'
    url.searchParams.set('token', 'tok-abcdef-secret')
    const warned: string[] = []
    const warn = spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warned.push(args.map(String).join(' ')))
    try {
      gw = await startTestGateway({ mock, config: alerts(url.href, { max_attempts: 1 }) })
      await gw.admin('POST', '/v1/users', { id: 'leak' })
      await gw.admin('PATCH', '/v1/users/leak', { blocked: true })
      await receiver.waitFor(1)
      const deadline = Date.now() + 5_000
      while (!warned.some((w) => w.includes('could not be delivered')) && Date.now() < deadline) await Bun.sleep(20)
      const [alert] = (await gw.admin('GET', '/v1/alerts?kind=user_blocked')).body.data
      const seen = [...warned, JSON.stringify(alert)].join('\n')
      expect(warned.some((w) => w.includes('could not be delivered to webhook ops'))).toBe(true)
      expect(seen).not.toContain('hunter2-pass')
      expect(seen).not.toContain('tok-abcdef-secret')
    } finally {
      warn.mockRestore()
    }
  })
})
