import { Elysia } from 'elysia'
import { z } from 'zod'
import type { Config } from '../config/schema'
import { estimateChat, estimateMessages, largerEstimate } from '../budget/estimate'
import { estimateOptionsFor } from '../budget/estimate-options'
import { admittedUser, authenticated, requestState } from '../http/request-state'
import { admitRequest, resolveModel } from '../metering/admission'
import { meterAnthropicStream } from '../metering/anthropic-stream'
import { anthropicFeatures, contextWindowOf, serverToolBounds } from '../pricing/features'
import { messagesViaOpenAI } from '../translate/messages-via-openai'
import { withAnthropicOutputCap } from '../translate/output-cap'
import { withThinkingTheToolLoopTakes } from '../translate/anthropic-thinking'
import { relay, type Exchange, type ExchangeFor } from '../translate/relay'
import type { RequestedFeatures } from '../pricing/price'
import { anthropicMessageCounts } from '../translate/usage'
import { anthropicBetaSent, anthropicClientHeaders } from '../providers/upstream'
import type { ResolvedModel } from '../providers/registry'
import { ownerFor, refuseAnotherUsersContainer, ResponseOwners } from '../records/response-owners'
import { containerNamed, containerRanIn, mayRunInContainer } from '../translate/anthropic-containers'
import { bodyBetaFlags } from '../providers/anthropic-beta'
import type { Services } from '../services'
import { refuseCaseVariantKeys } from '../http/case-variant-keys'
import { withFieldsLast } from '../translate/fields-last'
import { anthropicMessage, anthropicTool, anthropicToolChoice, billingUser, content, modelName, nullAsUnset } from './schemas/fields'
import { stoppingAtFirstIssue } from './schemas/first-issue'
import { billedCallResponses, EXTRA_BODY_REFUSED, PRESET_REFUSED, STORED_PROMPT_REFUSED } from './billed-call-refusals'

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
  temperature: nullAsUnset(z.number()),
  top_p: nullAsUnset(z.number()),
  top_k: nullAsUnset(z.number().int()),
})
type MessagesBody = z.infer<typeof messagesBody>

/**
 * An Anthropic provider gets the body as it came, with the provider's model id, the client's
 * `anthropic-version` and `anthropic-beta` (unless the provider's configured headers replace them), and a
 * bound on every billed server tool that sets none (`max_uses`, src/pricing/features.ts). Its billed
 * features are read from the beta flags it is sent, which Anthropic bills by: an operator's
 * `context-1m-…` on the provider switches the long-context rates on for every request; the flags in the body's
 * `betas` or `anthropic_beta`, which Anthropic-compatible proxies honour, are the client's too (`bodyBetaFlags`). Thinking with a budget is
 * dropped from a tool loop whose assistant turn started without it, as an earlier clamped turn leaves one.
 * The code execution container the answer ran in goes to `recordContainer` (JSON, or the stream's event naming it),
 * and the client gets its id once that resolves.
 */
function messagesNative(body: MessagesBody, clientHeaders: Headers, config: Config, recordContainer: (id: string, model: ResolvedModel) => Promise<void>): ExchangeFor {
  const headers = anthropicClientHeaders(clientHeaders)
  return (model, outputClamp) => {
    const betas = bodyBetaFlags(body, model.provider, headers['anthropic-beta'] ?? '')
    const betaFlags = [anthropicBetaSent(model.provider, headers), ...betas.flags].join(',')
    const bounded = anthropicFeatures(betas.body, serverToolBounds(config), betaFlags, model.upstreamModel)
    const sent = withThinkingTheToolLoopTakes(bounded.body)
    return {
      path: '/v1/messages',
      body: withFieldsLast(outputClamp === null ? sent : withAnthropicOutputCap(sent, outputClamp), { model: model.upstreamModel }),
      headers,
      features: bounded.features,
      // Blocks of a server tool the request did not offer are no use Anthropic bills (`billedWhenShown`).
      usageOf: (message) => anthropicMessageCounts(message, bounded.features.serverTools),
      reply: (message, text) => {
        const container = containerRanIn(message)
        return container === undefined ? text : recordContainer(container, model).then(() => text)
      },
      stream: anthropicStreamMeter(bounded.features.serverTools, model, recordContainer),
    }
  }
}

/**
 * The stream's meter, made apart from `messagesNative`: closures made there keep its scope, the parsed body and the
 * body sent in it, for as long as the stream runs (1.05 MB of live heap per 700 KB stream, a chat stream's 0.31).
 */
function anthropicStreamMeter(offered: RequestedFeatures['serverTools'], model: ResolvedModel, recordContainer: (id: string, model: ResolvedModel) => Promise<void>): NonNullable<Exchange['stream']> {
  return (upstream, meter) => meterAnthropicStream(upstream, { ...meter, offered, recordContainer: (id) => recordContainer(id, model) })
}

export const messagesRoutes = (services: Services) => {
  const { config } = services
  const owners = new ResponseOwners(services.store)

  /**
   * Records the container an answer ran in for the user billed for it, whatever the provider: an Anthropic-compatible
   * one may keep none, but an id it gives is the same state to its users. Resolves once written where every replica
   * finds it, as a stored response's ids are: the client's next request naming it may reach another one.
   */
  const containerRecorder = (request: Request) => (id: string, model: ResolvedModel): Promise<void> => {
    owners.recordContainer(id, { userId: admittedUser(requestState(request)), provider: model.providerName, model: model.canonical })
    return owners.written()
  }

  return new Elysia({ name: 'messages' }).post(
    '/v1/messages',
    async ({ body, request, server }) => {
      // Translated before the hold: a body the provider's format cannot carry is a 400 that costs nothing.
      const target = resolveModel(services, body.model, '/v1/messages')
      const viaOpenAI = target?.provider.type === 'openai'
      const exchangeFor = viaOpenAI ? messagesViaOpenAI(body, target.provider) : messagesNative(body, request.headers, config, containerRecorder(request))
      // Its billed features are priced with the model (admission), so it is planned before the hold.
      const planned = target && exchangeFor(target, null)
      await refuseAnotherUsersContainer(owners, containerNamed(body), ownerFor(authenticated(requestState(request)), body.metadata?.user_id))
      // An answer that ran in a container waits for its record: while this replica's stored ids are kept back by a
      // lock, it would be paid and withheld, and so would each of an SDK's retries.
      if (!viaOpenAI && mayRunInContainer(body)) await owners.refuseWhileKeptBack()
      const stream = body.stream === true
      const admission = await admitRequest(services, request, server, {
        model: body.model,
        target,
        namedUser: body.metadata?.user_id,
        endpoint: '/v1/messages',
        stream,
        clampable: true,
        // Translated, the hold covers the request as the provider receives it too (each tool's type and default
        // schema, tool calls' arguments as JSON strings, tool results as messages of their own).
        estimate: (price) => {
          // A file by reference is bounded as the provider that reads it bounds it (Anthropic's PDF pages, its window).
          const options = estimateOptionsFor(config, price, { anthropic: !viaOpenAI, openedWindowTokens: contextWindowOf(planned?.features), upstreamModel: target?.upstreamModel, provider: target?.provider })
          const sent = estimateMessages(body, options)
          return viaOpenAI && planned ? largerEstimate(sent, estimateChat(planned.body, options)) : sent
        },
        features: planned?.features,
      })
      using hold = admission.hold
      // Admission refused an unknown model (404), so the exchange exists; a clamped output rebuilds it with the lower max.
      const exchange = admission.outputClamp === null ? planned! : exchangeFor(admission.model, admission.outputClamp)
      return await relay({ request, admission, hold, stream, config }, exchange)
    },
    {
      body: stoppingAtFirstIssue(messagesBody),
      parse: 'json',
      transform: ({ body }) => refuseCaseVariantKeys(body),
      detail: {
        tags: ['inference'],
        summary: 'Messages (Anthropic format; JSON or SSE stream)',
        description:
          'Every Anthropic field is passed through. The model is `provider:model`, `provider/model` or an alias. ' +
          'With the master key, `metadata.user_id` names the user to bill. A virtual key always bills its own user: a `metadata.user_id` naming another ' +
          'is 403 `user_mismatch`, or, under the key\'s `user_field` policy `tag` (Claude Code sends one on every request), passed on as the end-user tag. ' +
          'A model served by an OpenAI-compatible provider is translated both ways, streams included.',
        responses: billedCallResponses({
          format: 'anthropic',
          ok: 'The message: JSON, or an SSE stream of events when `stream` is true',
          refusals: [
            [400, 'context_size_unknown', 'a continued `thread`: the conversation the provider holds is input the gateway cannot size'],
            STORED_PROMPT_REFUSED, EXTRA_BODY_REFUSED, PRESET_REFUSED,
            [404, 'container_not_found', '`container` names a code execution container by id that no answer to this user ran in'],
          ],
        }),
      },
    },
  )
}
