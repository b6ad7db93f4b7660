import { Elysia } from 'elysia'
import { z } from 'zod'
import { estimateMessages } from '../budget/estimate'
import { admitRequest } from '../metering/admission'
import { meterAnthropicStream } from '../metering/anthropic-stream'
import { messagesViaOpenAI } from '../translate/messages-via-openai'
import { withAnthropicOutputCap } from '../translate/output-cap'
import { relay, type ExchangeFor } from '../translate/relay'
import { anthropicUsage } from '../translate/usage'
import { anthropicClientHeaders } from '../providers/upstream'
import type { Services } from '../services'

const block = z.looseObject({ type: z.string() })
const content = z.union([z.string(), z.array(block)])

/** The fields the gateway reads (Anthropic requires `max_tokens`); every other field passes through untouched. */
export const messagesBody = z.looseObject({
  model: z.string().min(1).max(256),
  max_tokens: z.number().int().positive(),
  messages: z.array(z.looseObject({ role: z.string(), content })).min(1),
  system: content.optional(),
  stream: z.boolean().optional(),
  metadata: z.looseObject({ user_id: z.string().max(256).nullable().optional() }).nullable().optional(),
  tools: z.array(z.looseObject({ name: z.string() })).optional(),
  tool_choice: block.optional(),
  stop_sequences: z.array(z.string()).optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().int().optional(),
})
type MessagesBody = z.infer<typeof messagesBody>

/** An Anthropic provider gets the body as it came, with the provider's model id. */
function messagesNative(body: MessagesBody, clientHeaders: Headers): ExchangeFor {
  const headers = anthropicClientHeaders(clientHeaders)
  return (model, outputClamp) => ({
    path: '/v1/messages',
    body: { ...(outputClamp === null ? body : withAnthropicOutputCap(body, outputClamp)), model: model.upstreamModel },
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
      const target = providers.resolve(body.model, 'anthropic')
      const exchangeFor = target?.provider.type === 'openai' ? messagesViaOpenAI(body, target.provider) : messagesNative(body, request.headers)
      const stream = body.stream === true
      const admission = await admitRequest(services, request, server, {
        model: body.model,
        namedUser: body.metadata?.user_id,
        endpoint: '/v1/messages',
        stream,
        clampable: true,
        estimate: () => estimateMessages(body, { defaultMaxOutputTokens: config.default_max_output_tokens, mediaPartTokens: config.media_part_tokens }),
      })
      using hold = admission.hold
      return await relay(
        { request, admission, hold, stream, timeouts: config },
        exchangeFor(admission.model, admission.outputClamp),
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
