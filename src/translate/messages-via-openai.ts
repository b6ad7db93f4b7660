import type { ProviderConfig } from '../config/schema'
import { meterEvents } from '../metering/metered-stream'
import { openAIMeter } from '../metering/openai-stream'
import { openAIChatFeatures } from '../pricing/features'
import { ChunksToMessageEvents } from './chunks-to-message-events'
import { completionToMessage } from './completion-to-message'
import { convertStream } from './convert-stream'
import { messagesRequestToChat } from './messages-request-to-chat'
import { openAIOutputCapField } from './output-cap'
import type { ExchangeFor } from './relay'
import { openAIUsage, statedTier } from './usage'
import { withFieldsLast } from './fields-last'

/**
 * `/v1/messages` served by an OpenAI-compatible provider. The request is translated now, so that a body
 * the provider cannot take is refused before any hold. Streams always ask for usage; the meter reads it
 * in OpenAI's format and passes it on to the converter, which puts it in `message_delta`.
 */
export function messagesViaOpenAI(body: Record<string, any>, provider: ProviderConfig): ExchangeFor {
  const outputCapField = openAIOutputCapField(provider)
  const request = messagesRequestToChat(body, { outputCapField, reasoningEffort: provider.reasoning_effort === true })
  return (model, outputClamp) => ({
    path: '/chat/completions',
    body: withFieldsLast(request, { model: model.upstreamModel, ...(outputClamp === null ? {} : { [outputCapField]: outputClamp }) }),
    features: openAIChatFeatures(request, model.upstreamModel),
    usageOf: (completion) => openAIUsage(completion.usage, completion.service_tier),
    statedTierOf: statedTier,
    reply: (completion) => JSON.stringify(completionToMessage(completion)),
    stream: (upstream, meter) => convertStream(meterEvents(upstream, openAIMeter({ ...meter, passUsage: true }), meter), new ChunksToMessageEvents()),
  })
}
