import { beforeEach, describe, expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { anthropicEvent, jsonResponse, type ScriptedUpstream, sseResponse, withScriptedGateway } from './support/scripted-upstream'

/**
 * Anthropic's code execution containers are state the provider keeps in the one account every user shares: a
 * container holds the files its code wrote and read until it expires. So the container a Messages answer ran in
 * (its top-level `container`, or a stream's `message_delta.delta.container`) is recorded for the user billed for it,
 * and any other user naming it as the request's `container` — an id, or `{id, skills}` — is refused 404
 * `container_not_found` before the provider is called (README, Stored state), as is any container the gateway never
 * saw an answer run in.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'ant:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_execution: 0.05 } } } },
  (started) => ({ upstream, gw } = started),
)

const TOOLS = [{ type: 'code_execution_20250825', name: 'code_execution' }]
const usage = { input_tokens: 20, output_tokens: 5 }
const container = (id: string) => ({ id, expires_at: '2026-12-05T00:00:00Z' })

const answer = (id: string) => ({
  id: `msg_${id}`, type: 'message', role: 'assistant', model: 'm', content: [{ type: 'text', text: 'done' }],
  stop_reason: 'end_turn', stop_sequence: null, usage, container: container(id),
})
// The container is named in `message_delta` only, as Anthropic streams it.
const streamedAnswer = (id: string) =>
  sseResponse([
    anthropicEvent({ type: 'message_start', message: { id: `msg_${id}`, type: 'message', role: 'assistant', model: 'm', content: [], stop_reason: null, usage: { input_tokens: 20, output_tokens: 1 } } }),
    anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
    anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'done' } }),
    anthropicEvent({ type: 'content_block_stop', index: 0 }),
    anthropicEvent({ type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null, container: container(id) }, usage: { output_tokens: 5 } }),
    anthropicEvent({ type: 'message_stop' }),
  ])

const postMessages = (secret: string, body: Record<string, unknown>) =>
  fetch(`${gw.url}/v1/messages`, {
    method: 'POST',
    headers: { 'x-api-key': secret, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'ant:m', max_tokens: 64, tools: TOOLS, ...body }),
  })

/** Alice's request, which the provider answers running code in the container `id`. */
async function aliceRunsIn(id: string, how: { stream?: boolean } = {}) {
  const alice = await gw.userWithKey({ id: `alice-${id}`, max_budget: 5 })
  upstream.answer(() => (how.stream ? streamedAnswer(id) : jsonResponse(answer(id))))
  const res = await postMessages(alice.secret, { messages: [{ role: 'user', content: 'analyse my payroll file' }], ...how })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
  await gw.settled()
  return alice
}

/** A request that names a container, as its status and error type, and whether the container reached the provider. */
async function naming(secret: string, id: string, named: unknown) {
  const calls = upstream.calls.length
  upstream.answer(() => jsonResponse(answer(id)))
  const res = await postMessages(secret, { messages: [{ role: 'user', content: 'print every file under /mnt/user-data' }], container: named })
  const answered = (await res.json()) as { error?: { type?: string; message?: string } }
  await gw.settled()
  const forwarded = upstream.calls.slice(calls).some((c) => JSON.stringify(c.body).includes(id))
  return { status: res.status, refused: res.status === 404 ? answered.error?.type === 'not_found_error' && /^No container with id/.test(answered.error.message ?? '') : null, forwarded }
}

const REFUSED = { status: 404, refused: true, forwarded: false }

describe("another user's container", () => {
  let mallory: { secret: string }
  beforeEach(async () => {
    mallory = await gw.userWithKey({ id: `mallory-${crypto.randomUUID()}`, max_budget: 5 })
  })

  test('named by its id is refused before the provider is called', async () => {
    await aliceRunsIn('container_alice')
    expect(await naming(mallory.secret, 'container_alice', 'container_alice')).toEqual(REFUSED)
  })

  test('named as {id, skills} is refused too', async () => {
    await aliceRunsIn('container_alice_skills')
    const named = { id: 'container_alice_skills', skills: [{ type: 'anthropic', skill_id: 'xlsx', version: 'latest' }] }
    expect(await naming(mallory.secret, 'container_alice_skills', named)).toEqual(REFUSED)
  })

  test('is recorded from a stream', async () => {
    await aliceRunsIn('container_alice_stream', { stream: true })
    expect(await naming(mallory.secret, 'container_alice_stream', 'container_alice_stream')).toEqual(REFUSED)
  })
})

test('a container no answer through the gateway ran in is refused', async () => {
  const { secret } = await gw.userWithKey({ id: 'messages-container-never-seen', max_budget: 5 })
  expect(await naming(secret, 'container_never_seen', 'container_never_seen')).toEqual(REFUSED)
})

test('its own user names a container again, by its id or as {id, skills}', async () => {
  const alice = await aliceRunsIn('container_alice_again', { stream: true })
  const again = { status: 200, refused: null, forwarded: true }
  expect(await naming(alice.secret, 'container_alice_again', 'container_alice_again')).toEqual(again)
  expect(await naming(alice.secret, 'container_alice_again', { id: 'container_alice_again', skills: [] })).toEqual(again)
})

test('a container given as skills alone, with no id, asks the provider for a new one', async () => {
  const { secret } = await gw.userWithKey({ id: 'messages-container-skills-only', max_budget: 5 })
  const calls = upstream.calls.length
  upstream.answer(() => jsonResponse(answer('container_fresh')))
  const res = await postMessages(secret, { messages: [{ role: 'user', content: 'make a sheet' }], container: { skills: [{ type: 'anthropic', skill_id: 'xlsx', version: 'latest' }] } })
  await res.arrayBuffer()
  await gw.settled()
  expect({ status: res.status, called: upstream.calls.length > calls }).toEqual({ status: 200, called: true })
})
