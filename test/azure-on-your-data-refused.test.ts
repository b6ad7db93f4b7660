import { expect, test } from 'bun:test'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * Azure OpenAI "On Your Data": a chat request with `data_sources` (`azure_search`, `azure_cosmos_db`, `elasticsearch`,
 * `pinecone`, `mongo_db`; what the openai SDK sends with `extra_body={"data_sources": [...]}` to an Azure deployment)
 * makes Azure search the index and put the retrieved chunks (top_n_documents, 5 by default, of up to 1,024 tokens
 * each), its own system message and its intent-generation prompt into the prompt, all billed as `prompt_tokens`
 * (learn.microsoft.com, "use your own data": "each call to the model includes tokens for the system message, the
 * user prompt, conversation history, retrieved search documents, internal prompts and the model's response").
 * None of that is in the body: counted as an unknown field by its ~300 bytes, a user's spend passed max_budget
 * with cap-output on (SPEC §6: `spend <= max_budget`). It is refused before any hold (400 `context_size_unknown`),
 * as Gemini's `cached_content` is.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const MODEL = 'azure:gpt-4o'
/** 5 retrieved chunks of ~1,024 tokens, Azure's system message and intent prompt, and the question. */
const RETRIEVED_PROMPT = 7_200

withScriptedGateway(
  (up) => ({
    providers: { azure: { type: 'openai', base_url: `${up.url}/openai/v1`, api_key: 'azure-scripted-secret-0123456789', catalog: 'azure' } },
    cap_output_tokens: true,
    pricing: { [MODEL]: { input_per_million: 2.5, output_per_million: 10 } },
  }),
  (started) => ({ upstream, gw } = started),
)

const onYourData = ({ body }: ScriptedCall) => {
  const max = body.max_completion_tokens ?? body.max_tokens ?? 16
  const prompt = body.data_sources ? RETRIEVED_PROMPT : 20
  return jsonResponse({
    id: 'chatcmpl-oyd', object: 'chat.completion', created: 1, model: 'gpt-4o',
    choices: [{ index: 0, message: { role: 'assistant', content: 'The policy allows 20 days. [doc1]', context: { citations: [], intent: '["vacation policy"]' } }, finish_reason: 'stop' }],
    usage: { prompt_tokens: prompt, completion_tokens: max, total_tokens: prompt + max },
  })
}

const body = {
  model: MODEL,
  max_tokens: 16,
  messages: [{ role: 'user', content: 'How many vacation days do I get?' }],
  data_sources: [
    {
      type: 'azure_search',
      parameters: {
        endpoint: 'https://contoso-search.search.windows.net',
        index_name: 'hr-handbook',
        authentication: { type: 'system_assigned_managed_identity' },
      },
    },
  ],
}

test('control: the same question without data_sources keeps spend within max_budget', async () => {
  upstream.answer(onYourData)
  const { data_sources: _, ...plain } = body
  const { second, spend, budget } = await spendAtHeldBudget(gw, '/v1/chat/completions', plain, 'oyd-plain')
  expect(second.status).toBe(200)
  expect(spend).toBeLessThanOrEqual(budget)
})

test('Azure On Your Data (data_sources) is refused before any hold or upstream call', async () => {
  upstream.answer(onYourData)
  const { secret } = await gw.userWithKey({ id: 'oyd', max_budget: 1 })
  const res = await fetch(gw.url + '/v1/chat/completions', { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const answer = (await res.json()) as { error: { code: string; message: string } }
  expect(res.status).toBe(400)
  expect(answer.error.code).toBe('context_size_unknown')
  expect(answer.error.message).toContain('data_sources')
  expect(upstream.calls.length).toBe(0)
  await gw.settled()
  expect((await gw.admin('GET', '/v1/users/oyd')).body.spend).toBe(0)
})
