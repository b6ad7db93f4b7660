import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'bun:test'
import { startMockProvider, type MockBehavior, type MockProvider } from './support/mock-provider'
import { startTestGateway, type TestGateway } from './support/gateway'
import { settledRow } from './support/settled-row'
import { seededRandom } from './support/seeded'

/**
 * A request the provider received is never free: clients that hang up at random moments (before the
 * answer's headers, right after them, part-way through a stream, during a slow JSON answer) on every
 * inference route. Each trial runs alone, so that the usage row it leaves and the requests the mock
 * provider received can be told apart; the abort points are drawn from a seed printed with any failure
 * (set DISCONNECT_SEED to replay one). Every model is priced above $0, the per-request routes included.
 */
const PRICING = {
  'mock:gpt-mock': { input_per_million: 10, output_per_million: 30 },
  'mockant:claude-mock': { input_per_million: 10, output_per_million: 30 },
  'mock:embed': { input_per_million: 10, output_per_million: 0 },
  'mock:mod': { input_per_million: 0, output_per_million: 0, per_request: 0.0005 },
  'mock:tts': { input_per_million: 0, output_per_million: 0, per_request: 0.0005 },
  'mock:whisper': { input_per_million: 0, output_per_million: 0, per_request: 0.0005 },
}
const USER = 'team-hangups'

let mock: MockProvider
let gw: TestGateway
let secret: string

beforeAll(async () => {
  mock = startMockProvider({ chunks: 8, chunkDelayMs: 10 })
  gw = await startTestGateway({ mock, config: { pricing: PRICING } })
  secret = (await gw.userWithKey({ id: USER, max_budget: 1000 })).secret
})
afterAll(async () => {
  await gw.stop()
  await mock.stop()
})
beforeEach(() => mock.reset())

interface Route {
  name: string
  path: string
  stream: boolean
  body(): Record<string, unknown> | FormData
}

const prompt = [{ role: 'user', content: 'Tell me about the sea, at some length please.' }]
const chatRoute = (model: string, stream: boolean): Route => ({
  name: `chat → ${model}${stream ? ' (stream)' : ''}`,
  path: '/v1/chat/completions',
  stream,
  body: () => ({ model, stream, max_tokens: 100, messages: prompt }),
})
const messagesRoute = (model: string, stream: boolean): Route => ({
  name: `messages → ${model}${stream ? ' (stream)' : ''}`,
  path: '/v1/messages',
  stream,
  body: () => ({ model, stream, max_tokens: 100, messages: prompt }),
})
function transcriptionForm(): FormData {
  const form = new FormData()
  form.append('model', 'mock:whisper')
  form.append('file', new Blob([new Uint8Array(4096)], { type: 'audio/mpeg' }), 'a.mp3')
  return form
}

const ROUTES: Route[] = [
  ...[true, false].flatMap((stream) => [
    chatRoute('mock:gpt-mock', stream),
    chatRoute('mockant:claude-mock', stream),
    messagesRoute('mockant:claude-mock', stream),
    messagesRoute('mock:gpt-mock', stream),
  ]),
  { name: 'embeddings', path: '/v1/embeddings', stream: false, body: () => ({ model: 'mock:embed', input: 'the sea, the sea' }) },
  { name: 'moderations', path: '/v1/moderations', stream: false, body: () => ({ model: 'mock:mod', input: 'the sea, the sea' }) },
  { name: 'speech', path: '/v1/audio/speech', stream: false, body: () => ({ model: 'mock:tts', input: 'the sea', voice: 'alloy' }) },
  { name: 'transcriptions', path: '/v1/audio/transcriptions', stream: false, body: transcriptionForm },
]

/** Where the client hangs up: after some milliseconds (before the headers, or during a slow answer), on the headers, or after some events. */
type AbortPoint = { kind: 'timer'; ms: number } | { kind: 'headers' } | { kind: 'events'; n: number }

interface Trial {
  route: Route
  /** The mock's delay before it answers at all. */
  latencyMs: number
  abort: AbortPoint
}


/** Every route with every abort point it has, each with drawn timings, in a drawn order. */
function drawTrials(random: () => number): Trial[] {
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1))
  const trials: Trial[] = []
  for (const route of ROUTES) {
    const slow = int(20, 80)
    trials.push({ route, latencyMs: slow, abort: { kind: 'timer', ms: int(0, slow + 20) } })
    trials.push({ route, latencyMs: int(0, 20), abort: { kind: 'headers' } })
    if (route.stream) trials.push({ route, latencyMs: int(0, 20), abort: { kind: 'events', n: int(1, 6) } })
  }
  for (let i = trials.length - 1; i > 0; i--) {
    const j = int(0, i)
    ;[trials[i], trials[j]] = [trials[j]!, trials[i]!]
  }
  return trials
}

async function run(trial: Trial): Promise<void> {
  const controller = new AbortController()
  const body = trial.route.body()
  const isForm = body instanceof FormData
  const sent = fetch(gw.url + trial.route.path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, ...(isForm ? {} : { 'content-type': 'application/json' }) },
    body: isForm ? body : JSON.stringify(body),
    signal: controller.signal,
  })
  const { abort } = trial
  if (abort.kind === 'timer') setTimeout(() => controller.abort(), abort.ms)
  try {
    const res = await sent
    if (abort.kind === 'headers') return controller.abort()
    if (abort.kind === 'timer') return void (await res.arrayBuffer())
    const reader = res.body!.getReader()
    let events = 0
    while (events < abort.n) {
      const { value, done } = await reader.read()
      if (done) return
      events += new TextDecoder().decode(value).split('\n\n').filter((e) => e.includes('data:')).length
    }
    controller.abort()
  } catch {
    // The client's own abort.
  }
}

const count = (table: string): number => gw.query(`SELECT count(*) AS n FROM ${table}`)[0].n

/** Waits until nothing is held and the usage table has stopped growing (a JSON call whose client left runs on to its end). */
async function quiet(): Promise<void> {
  let last = -1
  let stable = 0
  for (let i = 0; i < 300; i++) {
    await gw.settled()
    const rows = count('usage')
    if (count('reservations') === 0 && rows === last) {
      if (++stable >= 3) return
    } else stable = 0
    last = rows
    await Bun.sleep(15)
  }
  throw new Error('the gateway did not settle')
}

/** Sends the request, hangs up as soon as the provider has it, and waits until its hold is settled. */
async function leaveOnceReceived(route: Route): Promise<void> {
  const controller = new AbortController()
  const calls = mock.calls.length
  const body = route.body()
  const isForm = body instanceof FormData
  const sent = fetch(gw.url + route.path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, ...(isForm ? {} : { 'content-type': 'application/json' }) },
    body: isForm ? body : JSON.stringify(body),
    signal: controller.signal,
  }).catch(() => null)
  while (mock.calls.length === calls) await Bun.sleep(5)
  controller.abort()
  await sent
  await quiet()
}

interface Row {
  status: string
  cost: number
  reserved: number
  prompt_tokens: number
  completion_tokens: number
}
const lastRow = () => gw.query<Row>('SELECT status, cost, reserved, prompt_tokens, completion_tokens FROM usage ORDER BY id DESC LIMIT 1')[0]!

/** The usage row of the same request answered to a client that waits for it. */
async function rowWhenWaitedFor(route: Route): Promise<Row> {
  const body = route.body()
  const isForm = body instanceof FormData
  const res = await fetch(gw.url + route.path, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, ...(isForm ? {} : { 'content-type': 'application/json' }) },
    body: isForm ? body : JSON.stringify(body),
  })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  await gw.settled()
  return lastRow()
}

describe('a client that leaves a JSON call while the provider works: the call runs on, and its usage is paid', () => {
  for (const route of ROUTES.filter((r) => !r.stream)) {
    test(route.name, async () => {
      const waited = await rowWhenWaitedFor(route)
      expect(waited.status).toBe('ok')
      mock.options = { ...mock.options, latencyMs: 150 }
      const row = await settledRow(gw, USER, () => leaveOnceReceived(route))
      expect(mock.aborts).toBe(0) // the provider was left to finish
      expect(row.status).toBe('aborted')
      expect(row.cost).toBeGreaterThan(0)
      expect(lastRow()).toEqual({ ...waited, status: 'aborted' })
    })
  }

  test('an answer without usage: the estimate, as for a client that waited', async () => {
    const route = ROUTES.find((r) => r.name === 'messages → mockant:claude-mock')!
    mock.options = { ...mock.options, latencyMs: 150 }
    mock.queue('no-usage')
    const row = await settledRow(gw, USER, () => leaveOnceReceived(route))
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(row.reserved)
  })

  for (const behavior of ['fail-500', 'fail-429'] as MockBehavior[]) {
    test(`the provider then fails (${behavior}): still no charge, the provider made nothing`, async () => {
      mock.options = { ...mock.options, latencyMs: 150 }
      mock.queue(behavior)
      const row = await settledRow(gw, USER, () => leaveOnceReceived(ROUTES.find((r) => r.name === 'chat → mock:gpt-mock')!))
      expect(row).toMatchObject({ status: 'error', cost: 0 })
    })
  }

  test('the provider then answers 200 with JSON that does not parse: it answered, so its whole hold is paid', async () => {
    mock.options = { ...mock.options, latencyMs: 150 }
    mock.queue('malformed-json')
    const row = await settledRow(gw, USER, () => leaveOnceReceived(ROUTES.find((r) => r.name === 'chat → mock:gpt-mock')!))
    expect(row.status).toBe('aborted')
    expect(row.cost).toBe(row.reserved)
  })
})

describe('a client that leaves a stream before its first byte: the call is cut, the input estimate paid', () => {
  for (const route of ROUTES.filter((r) => r.stream)) {
    test(route.name, async () => {
      mock.options = { ...mock.options, latencyMs: 300 }
      const row = await settledRow(gw, USER, () => leaveOnceReceived(route))
      expect(mock.aborts).toBe(1)
      expect(row.status).toBe('aborted')
      // The hold is the input estimate plus max_tokens (100) at the output rate (30 micro-USD a token).
      expect(row.cost).toBe(row.reserved - 100 * 30)
      expect(row.cost).toBeGreaterThan(0)
    })
  }
})

test('a client that hangs up at any moment never leaves a received request at $0', async () => {
  const seed = Number(process.env.DISCONNECT_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const trials = drawTrials(seededRandom(seed))
  const leaks: string[] = []
  const statuses = new Set<string>()

  for (const trial of trials) {
    mock.options = { ...mock.options, latencyMs: trial.latencyMs }
    const callsBefore = mock.calls.length
    const rowsBefore = count('usage')
    await run(trial)
    await quiet()
    const received = mock.calls.length > callsBefore
    const rows = gw.query<{ cost: number; status: string }>('SELECT cost, status FROM usage WHERE id > ? ORDER BY id', rowsBefore)
    const what = `seed ${seed}: ${trial.route.name}, latency ${trial.latencyMs} ms, abort ${JSON.stringify(trial.abort)}`
    if (rows.length > 1) leaks.push(`${what}: ${rows.length} usage rows`)
    const row = rows[0]
    if (row) statuses.add(row.status)
    if (received && !row) leaks.push(`${what}: the provider received it, and no usage row`)
    if (received && row && row.cost === 0) leaks.push(`${what}: the provider received it, charged $0 (${row.status})`)
  }

  expect(leaks).toEqual([])
  // The draw did make clients leave mid-way (not only before or after everything).
  expect(statuses.has('aborted')).toBe(true)
  const user = (await gw.admin('GET', `/v1/users/${USER}`)).body
  const charged = gw.query('SELECT coalesce(sum(cost), 0) AS micros FROM usage WHERE user_id = ?', USER)[0].micros
  expect(Math.round(user.spend * 1e6)).toBe(charged)
  expect(user.reserved).toBe(0)
  expect(count('reservations')).toBe(0)
})
