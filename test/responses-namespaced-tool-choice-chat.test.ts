import { expect, setDefaultTimeout, test } from 'bun:test'
import type OpenAI from 'openai'
import { jsonResponse, type ScriptedUpstream } from './support/scripted-upstream'
import { withTranslatingGateway } from './support/translating-gateway'

/**
 * Responses → chat completions (`responses: chat`), namespace tools (src/translate/responses/request-to-chat.ts). As
 * towards Claude: a client names a namespaced function `<namespace>.<name>` in its tool_choice (the OpenAI Agents
 * SDK's `toolChoice: "crm.lookup_account"`), and the chat server is offered it as `crm__lookup_account`. The forced
 * function, and each function an `allowed_tools` choice lists, is named as the server was offered it.
 */
setDefaultTimeout(30_000)

let upstream: ScriptedUpstream
let openai: OpenAI

withTranslatingGateway('namespaced-tool-choice-chat', (started) => ({ upstream, openai } = started))

test('a forced namespaced function is forced by the name the chat server was offered', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'c1', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'done' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    }),
  )
  await openai.responses.create({
    model: 'chat:m',
    input: 'Look up account 7.',
    store: false,
    tools: [{ type: 'namespace', name: 'crm', description: 'CRM tools', tools: [{ type: 'function', name: 'lookup_account', parameters: { type: 'object', properties: { id: { type: 'string' } } } }] }] as any,
    tool_choice: { type: 'function', name: 'crm.lookup_account' },
  })
  const sent = upstream.calls.find((c) => c.path.endsWith('/chat/completions'))?.body
  const offered = (sent?.tools ?? []).map((t: any) => t.function?.name)
  expect(offered).toEqual(['crm__lookup_account'])
  expect(sent?.tool_choice).toEqual({ type: 'function', function: { name: 'crm__lookup_account' } })
})

test('an allowed_tools choice names a namespaced function as the chat server was offered it', async () => {
  upstream.answer(() =>
    jsonResponse({
      id: 'c2', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'done' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
    }),
  )
  await openai.responses.create({
    model: 'chat:m',
    input: 'Look up account 7.',
    store: false,
    tools: [
      { type: 'function', name: 'get_time', parameters: { type: 'object', properties: {} } },
      { type: 'namespace', name: 'crm', description: 'CRM tools', tools: [{ type: 'function', name: 'lookup_account', parameters: { type: 'object', properties: { id: { type: 'string' } } } }] },
    ] as any,
    tool_choice: { type: 'allowed_tools', mode: 'required', tools: [{ type: 'function', name: 'get_time' }, { type: 'function', name: 'crm.lookup_account' }] },
  })
  const sent = upstream.calls.findLast((c) => c.path.endsWith('/chat/completions'))?.body
  expect(sent?.tool_choice).toEqual({
    type: 'allowed_tools',
    allowed_tools: { mode: 'required', tools: [{ type: 'function', function: { name: 'get_time' } }, { type: 'function', function: { name: 'crm__lookup_account' } }] },
  })
})
