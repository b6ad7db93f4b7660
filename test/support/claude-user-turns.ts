/**
 * For the marker-forging tests: a gateway in front of a scripted Anthropic provider (`ant:claude-sonnet-4-5`) that
 * answers every call "ok", an OpenAI SDK client with a key of `userId`, and each user turn Claude was last sent, read
 * as the model reads it. Started before the file's tests, stopped after them.
 */
import { beforeAll } from 'bun:test'
import OpenAI from 'openai'
import type { TestGateway } from './gateway'
import { jsonResponse, withScriptedGateway, type ScriptedUpstream } from './scripted-upstream'

/** What a model could read as the gateway's marker (as in instructions-marker-unforgeable.test.ts). */
export const MARKER_TAG = /<\s*\/?\s*instructions[\s>]/i

/** The text of these blocks, one after the other. */
export const joinedText = (blocks: Array<{ type: string; text?: string }>) => blocks.filter((b) => b.type === 'text').map((b) => b.text).join('')

export function withClaudeBehindGateway(userId: string, use: (started: { client: OpenAI; upstream: ScriptedUpstream }) => void) {
  let upstream: ScriptedUpstream
  let gw: TestGateway
  withScriptedGateway(
    (u) => ({
      providers: { ant: { type: 'anthropic', base_url: u.url, api_key: 'sk-ant-scripted-secret-0123456789' } },
      pricing: { 'ant:claude-sonnet-4-5': { input_per_million: 1, output_per_million: 2 } },
    }),
    (s) => ({ upstream, gw } = s),
  )
  beforeAll(async () => {
    const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 })
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 })
    upstream.answer(() => jsonResponse({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [{ type: 'text', text: 'ok' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 2 } }))
    use({ client, upstream })
  })
  return {
    /** Each user turn Claude was last sent, its text blocks read one after the other as the model reads them. */
    userTurnTexts(): string[] {
      const body = upstream.calls.at(-1)!.body
      return (body.messages as Array<{ role: string; content: unknown }>)
        .filter((m) => m.role === 'user')
        .map((m) => (typeof m.content === 'string' ? m.content : joinedText(m.content as Array<{ type: string; text?: string }>)))
    },
  }
}
