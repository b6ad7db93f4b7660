/**
 * For a test file: a gateway in front of a mock provider that sends its budget alerts (one threshold, 50 %, checked
 * every 50 ms) to a webhook receiver; started before the file's tests, stopped after them.
 */
import { afterAll, beforeAll } from 'bun:test'
import { startTestGateway, type TestGateway } from './gateway'
import { startMockProvider, type MockProvider } from './mock-provider'
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver'

export function withAlertingGateway(use: (started: { gw: TestGateway; receiver: WebhookReceiver }) => void): void {
  let mock: MockProvider | undefined
  let receiver: WebhookReceiver | undefined
  let gw: TestGateway | undefined
  beforeAll(async () => {
    mock = startMockProvider()
    receiver = startWebhookReceiver()
    gw = await startTestGateway({
      mock,
      config: { alerts: { webhooks: { ops: { url: receiver.url, secret: 'webhook-secret-0123456789abcdef' } }, thresholds: [50], check_interval_ms: 50, retry_base_ms: 50 } },
    })
    use({ gw, receiver })
  })
  afterAll(async () => {
    await gw?.stop()
    receiver?.stop()
    await mock?.stop()
  })
}
