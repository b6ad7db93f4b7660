/**
 * A webhook receiver on a loopback port, as an operator's would be: it records every delivery (headers
 * and raw body) and answers as scripted: `ok`, an HTTP error status, or `hang` (never answers).
 */
export type ReceiverAnswer = 'ok' | number | 'hang'

export interface Delivery {
  id: string
  body: string
  payload: any
  timestamp: number
  signature: string
  idempotencyKey: string | null
  /** When it arrived (ms). */
  at: number
}

export interface WebhookReceiver {
  url: string
  deliveries: Delivery[]
  /** Answers for the next deliveries, in order; once used up, every delivery gets `ok`. */
  script(...answers: ReceiverAnswer[]): void
  /** Resolves once `n` deliveries have arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<Delivery[]>
  stop(): void
}

export function startWebhookReceiver(): WebhookReceiver {
  const deliveries: Delivery[] = []
  let answers: ReceiverAnswer[] = []
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    idleTimeout: 0,
    async fetch(req) {
      const body = await req.text()
      deliveries.push({
        id: req.headers.get('x-tollgate-alert-id') ?? '',
        body,
        payload: JSON.parse(body),
        timestamp: Number(req.headers.get('x-tollgate-timestamp')),
        signature: req.headers.get('x-tollgate-signature') ?? '',
        idempotencyKey: req.headers.get('idempotency-key'),
        at: Date.now(),
      })
      const answer = answers.shift() ?? 'ok'
      if (answer === 'hang') return new Promise<Response>(() => {})
      return new Response(null, { status: answer === 'ok' ? 204 : answer })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    deliveries,
    script: (...a) => void (answers = a),
    async waitFor(n, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs
      while (deliveries.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} deliveries, got ${deliveries.length}: ${deliveries.map((d) => d.payload.kind).join(', ')}`)
        await Bun.sleep(20)
      }
      return deliveries
    },
    stop: () => void server.stop(true),
  }
}
