import { Elysia } from 'elysia'
import { z } from 'zod'
import { estimateMessages } from '../budget/estimate'
import { admitRequest } from '../metering/admission'
import { meterAnthropicStream } from '../metering/anthropic-stream'
import type { ResolvedModel } from '../providers/registry'
import { messagesViaOpenAI } from '../translate/messages-via-openai'
import { relay, type Exchange } from '../translate/relay'
import { anthropicUsage } from '../translate/usage'
import type { Services } from '../services'
import { anthropicMessage, anthropicTool, anthropicToolChoice, billingUser, content, modelName } from './schemas/fields'

/** The fields the gateway reads or translates, typed (Anthropic requires `max_tokens`); every other field passes through untouched. */
export const messagesBody = z.looseObject({
  model: modelName,
  max_tokens: z.number().int().positive(),
  messages: z.array(anthropicMessage).min(1),
  system: content.optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: billingUser.nullable().optional() }).nullable().optional(),
  tools: z.array(anthropicTool).optional(),
  tool_choice: anthropicToolChoice.optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().int().optional(),
})
type MessagesBody = z.infer<typeof messagesBody>

/** Client headers an Anthropic provider should still see: the opt-in to beta features. */
const FORWARDED_HEADERS = ['anthropic-beta'] as const

/** An Anthropic provider gets the body as it came, with the provider's model id. */
function messagesNative(body: MessagesBody, clientHeaders: Headers): (model: ResolvedModel) => Exchange {
  const headers: Record<string, string> = {}
  for (const name of FORWARDED_HEADERS) {
    const value = clientHeaders.get(name)
    if (value) headers[name] = value
  }
  return (model) => ({
    path: '/v1/messages',
    body: { ...body, model: model.upstreamModel },
    headers,
    usageOf: (message) => anthropicUsage(message.usage),
    reply: (_message, text) => text,
    stream: (upstream, meter) => meterAnthropicStream(upstream, meter),
  })
}

export const messagesRoutes = (services: Services) => {
  const { config, providers } = services

  return new Elysia({ name: 'messages' }).post(
    '/v1/messages',
    async ({ body, request, server }) => {
      // Translated before the hold: a body the provider's format cannot carry is a 400 that costs nothing.
      const target = providers.resolve(body.model)
      const exchangeFor = target?.provider.type === 'openai' ? messagesViaOpenAI(body, target.provider) : messagesNative(body, request.headers)
      const stream = body.stream === true
      const admission = await admitRequest(services, request, server, {
        model: body.model,
        namedUser: body.metadata?.user_id,
        endpoint: '/v1/messages',
        stream,
        estimate: () => estimateMessages(body, { defaultMaxOutputTokens: config.default_max_output_tokens, mediaPartTokens: config.media_part_tokens }),
      })
      using hold = admission.hold
      return await relay(
        { request, admission, hold, stream, timeouts: config },
        exchangeFor(admission.model),
      )
    },
    {
      body: messagesBody,
      parse: 'json',
      detail: {
        tags: ['inference'],
        summary: 'Messages (Anthropic format; JSON or SSE stream)',
        description:
          'Every Anthropic field is passed through. The model is `provider:model`, `provider/model` or an alias; ' +
          '`metadata.user_id` names the user to bill. A model served by an OpenAI-compatible provider is translated both ways, streams included.',
      },
    },
  )
}

export type { MessagesBody }
