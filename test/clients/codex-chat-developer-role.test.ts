import { expect, setDefaultTimeout, test } from 'bun:test'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { binOf, runCli, scratchDir } from '../support/clients'
import { startTestGateway } from '../support/gateway'
import { jsonResponse, openAIEvent, scriptedProviders, sseResponse, startScriptedUpstream } from '../support/scripted-upstream'

setDefaultTimeout(120_000)

/** The roles the OpenAI-compatible servers without a Responses API take (DeepSeek, Mistral: `developer` is OpenAI's alone). */
const CHAT_ROLES = new Set(['system', 'user', 'assistant', 'tool'])

/**
 * Codex (`codex exec`) against a model whose provider has no Responses API (`responses: chat`, the setting for
 * such servers). Codex sends its permissions and skills instructions as `developer` messages on every turn; the
 * gateway passed that role on as it was, and a server that knows only system/user/assistant/tool refuses every
 * request (DeepSeek: "unknown variant `developer`"), so Codex could not run at all. As a system message (as the
 * translation to Anthropic takes it) it is taken.
 */
test('codex exec on a responses: chat provider: no `developer` role reaches a chat server', async () => {
  const upstream = startScriptedUpstream()
  const { plain } = scriptedProviders(upstream)
  const gw = await startTestGateway({ config: { providers: { plain: { ...plain, responses: 'chat' } }, pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 } } } })
  const { secret } = await gw.userWithKey({ id: 'u1', max_budget: 10 })
  const dir = scratchDir('codex-developer-')
  const codexHome = join(dir.path, 'codex')
  const work = join(dir.path, 'work')
  mkdirSync(codexHome, { recursive: true })
  mkdirSync(work)
  writeFileSync(join(codexHome, 'config.toml'), ['model = "plain:m"', 'model_provider = "tollgate"', 'web_search = "disabled"', '', '[model_providers.tollgate]', 'name = "tollgate"', `base_url = "${gw.url}/v1"`, 'env_key = "K"', 'wire_api = "responses"', ''].join('\n'))
  upstream.answer((call) => {
    const bad = (call.body.messages as any[]).find((m) => !CHAT_ROLES.has(m.role))
    if (bad) return jsonResponse({ error: { message: `Failed to deserialize the JSON body into the target type: messages: unknown variant \`${bad.role}\`, expected one of \`system\`, \`user\`, \`assistant\`, \`tool\``, type: 'invalid_request_error' } }, 400)
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'm' }
    return sseResponse([
      openAIEvent({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hello from chat.' }, finish_reason: null }] }),
      openAIEvent({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }),
      openAIEvent({ ...base, choices: [], usage: { prompt_tokens: 100, completion_tokens: 5, total_tokens: 105 } }),
      'data: [DONE]\n\n',
    ])
  })
  try {
    const result = await runCli([binOf('codex'), 'exec', '--skip-git-repo-check', 'Say hello.'], { cwd: work, timeoutMs: 100_000, env: { HOME: dir.path, CODEX_HOME: codexHome, K: secret } })
    const roles = upstream.calls.flatMap((c) => (c.body.messages as any[]).map((m) => m.role))
    expect(roles).not.toContain('developer')
    expect(result.output).toContain('Hello from chat.')
    expect(result.code).toBe(0)
  } finally {
    await gw.stop()
    await upstream.stop()
    dir.remove()
  }
})
