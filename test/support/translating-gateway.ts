/**
 * For a test file whose clients reach an OpenAI-compatible server through the gateway's translators: a gateway in
 * front of a scripted upstream with providers `plain` (chat completions, so `/v1/messages` is translated) and
 * `chat` (the same server with `responses: 'chat'`, so `/v1/responses` is), `plain:m` and `chat:m` priced at $1/$2
 * per million, a key of user `userId` with $10, and an Anthropic and an OpenAI SDK client on that key. Started
 * before the file's tests (a file's own beforeAll, declared after this call, runs once they are) and stopped
 * after them; the upstream's calls are cleared before each test.
 */
import { beforeAll } from 'bun:test'
import Anthropic from '@anthropic-ai/sdk'
import OpenAI from 'openai'
import type { TestGateway } from './gateway'
import { scriptedProviders, withScriptedGateway, type ScriptedUpstream } from './scripted-upstream'

export interface TranslatingGateway {
  upstream: ScriptedUpstream
  gw: TestGateway
  anthropic: Anthropic
  openai: OpenAI
}

export function withTranslatingGateway(userId: string, use: (started: TranslatingGateway) => void): void {
  let started: { upstream: ScriptedUpstream; gw: TestGateway } | undefined
  withScriptedGateway(
    (upstream) => {
      const providers = scriptedProviders(upstream)
      return {
        providers: { ...providers, chat: { ...providers.plain, responses: 'chat' } },
        pricing: { 'plain:m': { input_per_million: 1, output_per_million: 2 }, 'chat:m': { input_per_million: 1, output_per_million: 2 } },
      }
    },
    (s) => {
      started = s
    },
  )
  beforeAll(async () => {
    const { upstream, gw } = started!
    const { secret } = await gw.userWithKey({ id: userId, max_budget: 10 })
    use({
      upstream,
      gw,
      anthropic: new Anthropic({ baseURL: gw.url, apiKey: secret, maxRetries: 0 }),
      openai: new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: secret, maxRetries: 0 }),
    })
  })
}
