import { anthropicMeter } from '../../metering/anthropic-stream'
import { meterEvents } from '../../metering/metered-stream'
import { anthropicFeatures, type ServerToolBounds } from '../../pricing/features'
import type { ProviderConfig } from '../../config/schema'
import { anthropicBetaSent } from '../../providers/upstream'
import { convertStream } from '../convert-stream'
import { withAnthropicOutputCap } from '../output-cap'
import type { ExchangeFor } from '../relay'
import { anthropicMessageCounts } from '../usage'
import { MessageEventsToResponseEvents } from './message-events-to-response-events'
import { messageToResponse } from './message-to-response'
import { responsesRequestToMessages, type ResponsesToMessagesOptions } from './request-to-messages'
import { requestEcho } from './response-object'
import { withFieldsLast } from '../fields-last'

/**
 * `/v1/responses` served by an Anthropic provider. Translated now, so that a body Anthropic cannot take
 * is refused before any hold; `dropped` names the hosted tools left out. The translated request's billed
 * features (web search, bounded by `max_uses`) are read as for `/v1/messages`, with the beta flags the
 * `provider` is sent (its configured ones: no client header is passed on), and its answer is billed as there: the
 * usage, and the server tool uses the content shows where more. Streams are metered in
 * Anthropic's format (where the usage is) and converted after the meter.
 */
export function responsesViaAnthropic(body: Record<string, any>, o: ResponsesToMessagesOptions & { bounds: ServerToolBounds; provider: ProviderConfig }) {
  const translated = responsesRequestToMessages(body, o)
  const { body: request, features } = anthropicFeatures(translated.request, o.bounds, anthropicBetaSent(o.provider), o.upstreamModel)
  const echo = requestEcho(body)
  const exchangeFor: ExchangeFor = (model, outputClamp) => ({
    path: '/v1/messages',
    body: withFieldsLast(outputClamp === null ? request : withAnthropicOutputCap(request, outputClamp), { model: model.upstreamModel }),
    features,
    usageOf: anthropicMessageCounts,
    reply: (message) => JSON.stringify(messageToResponse(message, echo, translated.names)),
    stream: (upstream, meter) => convertStream(meterEvents(upstream, anthropicMeter(meter), meter), new MessageEventsToResponseEvents(echo, translated.names)),
    streamKeepsRequestEcho: true,
  })
  return { request, dropped: translated.dropped, features, exchangeFor }
}
