import { expect, setDefaultTimeout, test } from 'bun:test'
import type OpenAI from 'openai'
import { openAIEvent, sseResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

setDefaultTimeout(30_000)

/**
 * Ollama streams every call of a parallel batch whole with `index: 0` and its own id
 * (test/reused-tool-call-index.test.ts), and its OpenAI layer marshals a call without arguments (a tool with no
 * parameters) as `"arguments": "null"` (Go's json.Marshal of a nil map; later versions write "{}"). A new id at a
 * reused index once opened a new call only when the current call's arguments were a whole JSON *object*: "null" is
 * none, so the second call was merged into the first — ONE function call with arguments "nullnull", the second
 * lost. Any whole JSON value now ends a call.
 */
let upstream: ScriptedUpstream
let openai: OpenAI

withTranslatingGateway('rt-eg-no-args', (started) => ({ upstream, openai } = started))

const head = { id: 'chatcmpl-o', object: 'chat.completion.chunk', created: 1, model: 'qwen3:8b' }
const chunk = (delta: unknown, finish: string | null = null) => openAIEvent({ ...head, choices: [{ index: 0, delta, finish_reason: finish }] })
const noArgs = (id: string) => ({ index: 0, id, type: 'function', function: { name: 'get_time', arguments: 'null' } })

test('/v1/responses through chat: two no-argument calls, both index 0 with distinct ids, stay two function calls', async () => {
  upstream.answer(() =>
    sseResponse([
      chunk({ role: 'assistant', tool_calls: [noArgs('call_utc')] }),
      chunk({ tool_calls: [noArgs('call_local')] }),
      chunk({}, 'tool_calls'),
      openAIEvent({ ...head, choices: [], usage: { prompt_tokens: 10, completion_tokens: 20, total_tokens: 30 } }),
      openAIEvent('[DONE]'),
    ]),
  )
  const response = await openai.responses
    .stream({ model: 'chat:m', store: false, input: 'Time in UTC and locally?', tools: [{ type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} }, strict: false }] })
    .finalResponse()
  const calls = response.output.filter((item) => item.type === 'function_call').map((item: any) => item.call_id)
  // Today: ['call_utc'] (one call, arguments "nullnull").
  expect(calls).toEqual(['call_utc', 'call_local'])
})
