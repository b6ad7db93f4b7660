import { beforeEach, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, postResponses, sseResponse, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Code interpreter containers (and a hosted shell's `container_reference`) are state the provider keeps in the one
 * account every user shares: a container holds the files its code wrote and read for as long as it lives. So a
 * container id is recorded for the user whose response ran in it (`code_interpreter_call.container_id`, a
 * `shell_call`'s reference), JSON or stream, `store: false` too, and any other user naming it — as a code
 * interpreter's `container`, a shell's `container_reference`, or an input call item's, whose live container an
 * `auto` container takes up — is refused 404 `container_not_found` before the provider is called (README, Stored
 * state), as is any container the gateway never saw a response run in.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_interpreter: 0.03 } } } },
  (started) => ({ upstream, gw } = started),
)

const usage = { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 25 }
const AUTO = [{ type: 'code_interpreter', container: { type: 'auto' } }]

const callItem = (container: string) => ({ id: `ci_${container}`, type: 'code_interpreter_call', status: 'completed', code: 'open("/mnt/data/payroll.csv").read()', container_id: container, outputs: null })
const answer = (container: string) => ({
  id: `resp_${container}`, object: 'response', status: 'completed', model: 'm', usage,
  output: [callItem(container), { type: 'message', id: `msg_${container}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done', annotations: [] }] }],
})
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
// The container is named in `output_item.done` only: the final event lists no output.
const streamedAnswer = (container: string) =>
  sseResponse([
    event({ type: 'response.created', response: { id: `resp_${container}`, object: 'response', status: 'in_progress', model: 'm', output: [] } }, 0),
    event({ type: 'response.output_item.done', output_index: 0, item: callItem(container) }, 1),
    event({ type: 'response.completed', response: { id: `resp_${container}`, object: 'response', status: 'completed', model: 'm', usage } }, 2),
  ])

/** Alice's request, which the provider answers running code in `container`. */
async function aliceRunsIn(container: string, how: { stream?: boolean; store?: boolean } = {}) {
  const alice = await gw.userWithKey({ id: `alice-${container}`, max_budget: 5 })
  upstream.answer(() => (how.stream ? streamedAnswer(container) : jsonResponse(answer(container))))
  const res = await postResponses(gw, alice.secret, { model: 'plain:m', input: 'analyse my payroll file', tools: AUTO, ...how })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  await gw.settled()
  return alice
}

/** A request that names a container, as its status and error code, and whether the container reached the provider. */
async function naming(secret: string, container: string, body: Record<string, unknown>) {
  const calls = upstream.calls.length
  upstream.answer(() => jsonResponse(answer(container)))
  const res = await postResponses(gw, secret, { model: 'plain:m', input: 'print every file under /mnt/data', ...body })
  const answered = (await res.json()) as { error?: { code?: string } }
  await gw.settled()
  const forwarded = upstream.calls.slice(calls).some((c) => JSON.stringify(c.body).includes(container))
  return { status: res.status, code: answered.error?.code ?? null, forwarded }
}

const REFUSED = { status: 404, code: 'container_not_found', forwarded: false }

describe("another user's container", () => {
  let mallory: { secret: string }
  beforeEach(async () => {
    mallory = await gw.userWithKey({ id: `mallory-${crypto.randomUUID()}`, max_budget: 5 })
  })

  test("named as code interpreter's container is refused before the provider is called", async () => {
    await aliceRunsIn('cntr_alice_json')
    expect(await naming(mallory.secret, 'cntr_alice_json', { tools: [{ type: 'code_interpreter', container: 'cntr_alice_json' }] })).toEqual(REFUSED)
  })

  test("named as a hosted shell's container_reference is refused too", async () => {
    await aliceRunsIn('cntr_alice_shell')
    const tools = [{ type: 'shell', environment: { type: 'container_reference', container_id: 'cntr_alice_shell' } }]
    expect(await naming(mallory.secret, 'cntr_alice_shell', { tools })).toEqual(REFUSED)
  })

  test('named by a call item of the input, which an auto container takes up, is refused too', async () => {
    await aliceRunsIn('cntr_alice_item')
    const input = [{ ...callItem('cntr_alice_item'), id: 'ci_mallory_own' }, { role: 'user', content: 'list /mnt/data' }]
    expect(await naming(mallory.secret, 'cntr_alice_item', { input, tools: AUTO, store: false })).toEqual(REFUSED)
  })

  test('named in a count of input tokens is refused too', async () => {
    await aliceRunsIn('cntr_alice_count')
    const calls = upstream.calls.length
    const res = await fetch(`${gw.url}/v1/responses/input_tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${mallory.secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'plain:m', input: 'hi', tools: [{ type: 'code_interpreter', container: 'cntr_alice_count' }] }),
    })
    const answered = (await res.json()) as { error?: { code?: string } }
    expect({ status: res.status, code: answered.error?.code ?? null, forwarded: upstream.calls.length > calls }).toEqual(REFUSED)
  })

  test('is recorded from a stream, and with store: false', async () => {
    await aliceRunsIn('cntr_alice_stream', { stream: true })
    await aliceRunsIn('cntr_alice_unstored', { store: false })
    for (const container of ['cntr_alice_stream', 'cntr_alice_unstored'])
      expect(await naming(mallory.secret, container, { tools: [{ type: 'code_interpreter', container }] })).toEqual(REFUSED)
  })
})

test('a container no response through the gateway ran in is refused', async () => {
  const { secret } = await gw.userWithKey({ id: 'container-never-seen', max_budget: 5 })
  expect(await naming(secret, 'cntr_never_seen', { tools: [{ type: 'code_interpreter', container: 'cntr_never_seen' }] })).toEqual(REFUSED)
})

test('its own user names a container again, by a tool or a shell reference', async () => {
  const alice = await aliceRunsIn('cntr_alice_again', { stream: true, store: false })
  const again = { status: 200, code: null, forwarded: true }
  expect(await naming(alice.secret, 'cntr_alice_again', { tools: [{ type: 'code_interpreter', container: 'cntr_alice_again' }] })).toEqual(again)
  const tools = [{ type: 'shell', environment: { type: 'container_reference', container_id: 'cntr_alice_again' } }]
  expect(await naming(alice.secret, 'cntr_alice_again', { tools })).toEqual(again)
})
