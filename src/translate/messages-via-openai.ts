import type { ProviderConfig } from '../config/schema'
import { meterOpenAIStream } from '../metering/openai-stream'
import { ChunksToMessageEvents } from './chunks-to-message-events'
import { completionToMessage } from './completion-to-message'
import { convertStream } from './convert-stream'
import { messagesRequestToChat } from './messages-request-to-chat'
import { openAIOutputCapField } from './output-cap'
import type { ExchangeFor } from './relay'
import { openAIUsage } from './usage'

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
    body: { model: model.upstreamModel, ...request, ...(outputClamp === null ? {} : { [outputCapField]: outputClamp }) },
    usageOf: (completion) => openAIUsage(completion.usage),
    reply: (completion) => JSON.stringify(completionToMessage(completion)),
    stream: (upstream, meter) => convertStream(meterOpenAIStream(upstream, { ...meter, passUsage: true }), new ChunksToMessageEvents()),
  })
}
