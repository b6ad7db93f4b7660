import { Elysia } from 'elysia'
import { z } from 'zod'
import { estimateChat } from '../budget/estimate'
import { badGateway } from '../http/errors'
import { authenticated, requestState } from '../http/request-state'
import { admit } from '../metering/admission'
import { meterOpenAIStream } from '../metering/openai-stream'
import { answeredOutcome, budgetHeaders, streamOutcome } from '../metering/outcome'
import type { TokenCounts } from '../pricing/price'
import type { ProviderConfig } from '../config/schema'
import { authHeaders, fetchFailure, upstreamFailure, upstreamSignal } from '../providers/upstream'
import type { Services } from '../services'

/** The fields the gateway reads; every other OpenAI field passes through untouched. */
export const chatBody = z.looseObject({
  model: z.string().min(1).max(256),
  messages: z.array(z.looseObject({ role: z.string() })).min(1),
  stream: z.boolean().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  n: z.number().int().positive().max(128).nullable().optional(),
  user: z.string().max(256).optional(),
})
type ChatBody = z.infer<typeof chatBody>

interface OpenAIUsage {
  prompt_tokens?: number
  completion_tokens?: number
  prompt_tokens_details?: { cached_tokens?: number } | null
}

export const openAIUsage = (u: OpenAIUsage | undefined | null): TokenCounts | null =>
  u ? { promptTokens: u.prompt_tokens ?? 0, completionTokens: u.completion_tokens ?? 0, cachedTokens: u.prompt_tokens_details?.cached_tokens ?? 0 } : null

/**
 * OpenAI's own API wants `max_completion_tokens` (its reasoning models refuse `max_tokens`); the
 * OpenAI-compatible servers (vLLM, Ollama, Groq…) all read `max_tokens`.
 */
const capField = (provider: ProviderConfig) =>
  new URL(provider.base_url).hostname === 'api.openai.com' ? 'max_completion_tokens' : 'max_tokens'

export const chatRoutes = (services: Services) => {
  const { config } = services

  return new Elysia({ name: 'chat' }).post(
    '/v1/chat/completions',
    async ({ body, request, server }) => {
      const state = requestState(request)
      // A completion may take minutes; the server's idle timeout must not cut it (our own timeouts apply).
      server?.timeout(request, 0)
      const stream = body.stream === true
      const admission = admit(services, {
        requestId: state.id,
        caller: authenticated(state),
        model: body.model,
        namedUser: body.user,
        endpoint: '/v1/chat/completions',
        stream,
        estimate: () => estimateChat(body, { defaultMaxOutputTokens: config.default_max_output_tokens, mediaPartTokens: config.media_part_tokens }),
      })
      state.userId = admission.userId
      using hold = admission.hold
      const { model, price, estimate } = admission

      const upstreamBody: Record<string, unknown> = { ...body, model: model.upstreamModel }
      const clientWantsUsage = body.stream_options?.include_usage === true
      if (stream) upstreamBody.stream_options = { ...body.stream_options, include_usage: true }
      if (config.cap_output_tokens && body.max_tokens == null && body.max_completion_tokens == null)
        upstreamBody[capField(model.provider)] = config.default_max_output_tokens

      const signal = upstreamSignal(config.upstream_timeout_ms, request.signal)
      const started = performance.now()
      const elapsed = () => performance.now() - started
      let res: Response
      try {
        res = await fetch(`${model.provider.base_url}/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...authHeaders(model.provider) },
          body: JSON.stringify(upstreamBody),
          signal: signal.signal,
        })
      } catch (error) {
        signal.dispose()
        hold.release(elapsed())
        throw fetchFailure(error, signal)
      }
      if (!res.ok) {
        signal.dispose()
        hold.release(elapsed())
        throw await upstreamFailure(res, model.provider)
      }

      if (stream && res.body) {
        const owned = hold.transfer()
        const metered = meterOpenAIStream(res.body, {
          passUsage: clientWantsUsage,
          idleTimeoutMs: config.upstream_idle_timeout_ms,
          signal,
          onEnd: (facts) => owned.settle(streamOutcome(facts, price, estimate, owned, elapsed())),
        })
        return new Response(metered, {
          headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...budgetHeaders(owned) },
        })
      }

      let text: string
      let usage: TokenCounts | null
      try {
        text = await res.text()
        usage = openAIUsage((JSON.parse(text) as { usage?: OpenAIUsage }).usage)
      } catch (error) {
        hold.release(elapsed())
        if (signal.reason()) throw fetchFailure(error, signal)
        throw badGateway('Upstream provider sent a malformed answer.')
      } finally {
        signal.dispose()
      }
      hold.settle(answeredOutcome(price, usage, hold, elapsed()))
      return new Response(text, { headers: { 'content-type': 'application/json', ...budgetHeaders(hold) } })
    },
    {
      body: chatBody,
      detail: {
        tags: ['inference'],
        summary: 'Chat completion (OpenAI format; JSON or SSE stream)',
        description: 'Every OpenAI field is passed through. The model is `provider:model`, `provider/model` or an alias.',
      },
    },
  )
}

export type { ChatBody }
