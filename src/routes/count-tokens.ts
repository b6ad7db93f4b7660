import { Elysia } from 'elysia'
import { switchIdleTimeoutOff } from '../http/idle-timeout'
import { authenticated, requestState } from '../http/request-state'
import { refuseDeadKeyOrBlockedUser } from '../keys/live-key'
import { mayCall } from '../keys/caller'
import { modelNotAllowed, refuseUserMismatch, resolveModel, unknownModel } from '../metering/admission'
import { countChatTokens } from '../metering/openai-tokens'
import { errorCheckedText, readUnmetered } from '../providers/call'
import { anthropicClientHeaders, withHeadersSent } from '../providers/upstream'
import type { Services } from '../services'
import { withThinkingTheToolLoopTakes } from '../translate/anthropic-thinking'
import { messagesRequestToChat } from '../translate/messages-request-to-chat'
import { refuseCaseVariantKeys } from '../http/case-variant-keys'
import { withFieldsLast } from '../translate/fields-last'
import { ownerFor, refuseAnotherUsersContainer, ResponseOwners } from '../records/response-owners'
import { containerNamed } from '../translate/anthropic-containers'
import { messagesBody } from './messages'
import { FREE_CALL_REFUSALS } from './free-call-refusals'
import { stoppingAtFirstIssue } from './schemas/first-issue'

/** A Messages request without what only generation needs. */
const countTokensBody = messagesBody.omit({ max_tokens: true, stream: true })

/**
 * Anthropic's `count_tokens`, free (no price, no hold, no usage row) but authenticated, refused to a blocked
 * user and to a key naming another user (as a billed route is), and limited to the models the key may call. A
 * `container` it names must be its user's, as on /v1/messages: the provider would read another user's on its behalf.
 * An Anthropic provider counts for itself, the request as /v1/messages would send it (thinking dropped from a tool
 * loop that started without it, which Anthropic refuses on count_tokens too); a model served by an OpenAI-compatible
 * provider is counted here, on the request as it would be translated, with OpenAI's tokenizer.
 */
export const countTokensRoutes = (services: Services) => {
  const { config, providers } = services
  const owners = new ResponseOwners(services.store)

  return new Elysia({ name: 'count-tokens' }).post(
    '/v1/messages/count_tokens',
    async ({ body, request, server }) => {
      switchIdleTimeoutOff(request, server)
      const caller = authenticated(requestState(request))
      await refuseDeadKeyOrBlockedUser(services.store, caller)
      refuseUserMismatch(caller, body.metadata?.user_id, config.reject_user_mismatch)
      const model = resolveModel(services, body.model, '/v1/messages/count_tokens')
      if (!model) throw unknownModel(body.model)
      if (!mayCall(caller, body.model, model.canonical, providers.aliases)) throw modelNotAllowed(body.model)
      await refuseAnotherUsersContainer(owners, containerNamed(body), ownerFor(caller, body.metadata?.user_id))

      if (model.provider.type === 'openai') {
        const chat = messagesRequestToChat(body, { outputCapField: 'max_tokens' })
        // A free call as a provider's count is: one of the key's free-call slots, given back when it ends.
        const slotBack = services.freeCalls.takeFor(caller.keyId)
        try {
          return { input_tokens: await countChatTokens(chat, request.signal) }
        } finally {
          slotBack()
        }
      }
      const text = await readUnmetered(
        withHeadersSent(model.provider, anthropicClientHeaders(request.headers)),
        '/v1/messages/count_tokens',
        withFieldsLast(withThinkingTheToolLoopTakes(body), { model: model.upstreamModel }),
        { freeCalls: services.freeCalls, keyId: caller.keyId, timeouts: config, request },
        (answer) => errorCheckedText(answer, model.provider),
      )
      return new Response(text, { headers: { 'content-type': 'application/json' } })
    },
    {
      body: stoppingAtFirstIssue(countTokensBody),
      parse: 'json',
      transform: ({ body }) => refuseCaseVariantKeys(body),
      detail: {
        tags: ['inference'],
        summary: 'Count the input tokens of a Messages request (Anthropic format; free)',
        description:
          'Passed through to an Anthropic provider. For a model served by an OpenAI-compatible provider, counted by the gateway with ' +
          "OpenAI's o200k_base tokenizer on the translated request, on a thread of its own (503 `tokenizer_unavailable` should that thread fail to start or end). Costs nothing; the key must be allowed the model, its user not blocked, and `metadata.user_id` name no other user " +
          '(403 `user_mismatch`, as on /v1/messages), nor `container` another user\'s (404, as on /v1/messages). ' +
          FREE_CALL_REFUSALS,
      },
    },
  )
}
