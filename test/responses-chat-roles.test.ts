/**
 * Responses → chat (`responses: chat`, for servers without a Responses API: vLLM, DeepSeek, Mistral, llama.cpp…).
 * Those servers take only the roles system, user, assistant and tool; `developer` is OpenAI's own name for
 * system, which Codex sends on every turn. It goes as `system`, where it is, so the server takes the request
 * (test/clients/codex-chat-developer-role.test.ts runs Codex itself).
 */
import { expect, test } from 'bun:test'
import { responsesRequestToChat } from '../src/translate/responses/request-to-chat'

const toChat = (input: unknown[]) => responsesRequestToChat({ instructions: 'Be brief.', input }, { outputCapField: 'max_tokens' }).request.messages

test('developer messages go as system messages, in their place', () => {
  expect(toChat([
    { role: 'developer', content: [{ type: 'input_text', text: 'Sandbox: read-only.' }] },
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: [{ type: 'output_text', text: 'Hello.' }] },
    { role: 'developer', content: 'Sandbox: workspace-write.' },
    { role: 'system', content: 'Answer in French.' },
    { role: 'user', content: 'write' },
  ])).toEqual([
    { role: 'system', content: 'Be brief.' },
    { role: 'system', content: 'Sandbox: read-only.' },
    { role: 'user', content: 'hi' },
    { role: 'assistant', content: 'Hello.' },
    { role: 'system', content: 'Sandbox: workspace-write.' },
    { role: 'system', content: 'Answer in French.' },
    { role: 'user', content: 'write' },
  ])
})
