import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { jsonResponse, openStream, postResponses, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * README (Responses API): every code interpreter container a response's output ran in is recorded for its user, "so
 * only that user may name it again". OpenAI names the container a call runs in from the call's first event,
 * `response.output_item.added` (`code_interpreter_call`, `status: "in_progress"`, `container_id`): it exists at the
 * provider from then on, holding the user's files. A user who stops the stream while the code runs (a chat UI's Stop
 * button, an agent's turn cancelled) has its id on screen and in their SDK's state; their next turn naming it, to
 * reuse the files already loaded, must be forwarded, not refused 404 `container_not_found`.
 */
let upstream: ScriptedUpstream
let gw: TestGateway

withScriptedGateway(
  { pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2, server_tools: { code_interpreter: 0.03 } } } },
  (started) => ({ upstream, gw } = started),
)

const usage = { input_tokens: 20, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 25 }
const event = (e: Record<string, unknown>, i: number) => `event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`
const CONTAINER = 'cntr_alice_cut_mid_run'

test('a container named by a call the user stopped mid-run is still theirs to name again', async () => {
  const alice = await gw.userWithKey({ id: 'container-stopped-mid-run', max_budget: 5 })
  upstream.answer(
    openStream([
      event({ type: 'response.created', response: { id: 'resp_cut', object: 'response', status: 'in_progress', model: 'm', output: [] } }, 0),
      event({ type: 'response.in_progress', response: { id: 'resp_cut', object: 'response', status: 'in_progress', model: 'm', output: [] } }, 1),
      event({ type: 'response.output_item.added', output_index: 0, item: { id: 'ci_cut', type: 'code_interpreter_call', status: 'in_progress', code: '', container_id: CONTAINER, outputs: null } }, 2),
      event({ type: 'response.code_interpreter_call.in_progress', output_index: 0, item_id: 'ci_cut' }, 3),
      event({ type: 'response.code_interpreter_call_code.delta', output_index: 0, item_id: 'ci_cut', delta: 'import pandas as pd; df = pd.read_csv("/mnt/data/payroll.csv")' }, 4),
    ]),
  )
  const res = await postResponses(gw, alice.secret, { model: 'plain:m', input: 'analyse my payroll file', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }], stream: true })
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  let seen = ''
  while (!seen.includes('code_interpreter_call_code.delta')) seen += new TextDecoder().decode((await reader.read()).value)
  // The client has the container's id …
  expect(seen).toContain(CONTAINER)
  // … and the user presses Stop.
  await reader.cancel()
  await gw.settled()

  const calls = upstream.calls.length
  upstream.answer(() =>
    jsonResponse({ id: 'resp_again', object: 'response', status: 'completed', model: 'm', usage, output: [{ type: 'message', id: 'msg_again', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done', annotations: [] }] }] }),
  )
  const again = await postResponses(gw, alice.secret, { model: 'plain:m', input: 'carry on with the file already loaded', tools: [{ type: 'code_interpreter', container: CONTAINER }] })
  const body = (await again.json()) as { error?: { code?: string } }
  await gw.settled()
  expect({ status: again.status, code: body.error?.code ?? null, forwarded: upstream.calls.length > calls }).toEqual({ status: 200, code: null, forwarded: true })

  // It is hers alone: another user naming it is refused before any upstream call.
  const bob = await gw.userWithKey({ id: 'container-stopped-other-user', max_budget: 5 })
  const before = upstream.calls.length
  const other = await postResponses(gw, bob.secret, { model: 'plain:m', input: 'read her file', tools: [{ type: 'code_interpreter', container: CONTAINER }] })
  expect(other.status).toBe(404)
  expect(((await other.json()) as { error?: { code?: string } }).error?.code).toBe('container_not_found')
  expect(upstream.calls.length).toBe(before)
})
