import { Elysia } from 'elysia'
import { yieldToRequests } from '../db/maintenance'
import { authenticated, requestState } from '../http/request-state'
import { notFound } from '../http/errors'
import { jsonWithList } from '../http/sliced-json'
import { mayCall, type Caller } from '../keys/caller'
import { unservedModel } from '../pricing/features'
import type { Price } from '../pricing/price'
import { priceAmountsOf } from '../pricing/price-amounts'
import type { ResolvedModel } from '../providers/registry'
import type { Services } from '../services'
import { MODEL_NAME_MAX_LENGTH } from './schemas/fields'
import { modelNameShown, refuseKeyInModelName } from '../metering/admission'

interface ListedModel {
  id: string
  object: 'model'
  /** Unix seconds: when the price in force took effect (0 when unpriced). */
  created: number
  owned_by: string
  /** USD per million tokens, `per_request` USD per call, `server_tools` USD per use, `service_tiers` multipliers. */
  pricing: ReturnType<typeof priceAmountsOf> | null
}

const pricingOf = (p: Price | null): ListedModel['pricing'] => p && priceAmountsOf(p)

const listed = (id: string, provider: string, price: Price | null): ListedModel => ({
  id,
  object: 'model',
  created: price ? Math.floor(price.createdAt / 1000) : 0,
  owned_by: provider,
  pricing: pricingOf(price),
})

/** Anthropic's model format, which its SDKs (and Claude Code) read: they send `anthropic-version`. */
const anthropicModel = (m: ListedModel) => ({ type: 'model' as const, id: m.id, display_name: m.id, created_at: new Date(m.created * 1000).toISOString() })

function anthropicList(request: Request, models: ListedModel[]): Response {
  const page = { has_more: false, first_id: models[0]?.id ?? null, last_id: models.at(-1)?.id ?? null }
  return jsonWithList(request, page, 'data', models.map(anthropicModel))
}

/** Whether this caller's requests naming `name` are served, price aside: its allow-list, and models no request is served (`unservedModel`). */
const servable = (caller: Caller, name: string, model: ResolvedModel, { config, providers }: Pick<Services, 'config' | 'providers'>): boolean =>
  mayCall(caller, name, model.canonical, providers.aliases) && !unservedModel(model.upstreamModel, config.cap_output_tokens)

/** Models (priced, or allow-listed) gone through between two looks at whether the request thread is due to others (yieldToRequests). */
const YIELD_EVERY = 256

/**
 * What this caller may call, with prices: every priced model of a configured provider, every alias under
 * its own name, and every bare id its allow-list names (neither an alias nor `provider:model`) under that
 * name, as the default provider of the list's format (Anthropic's with `anthropic-version`) serves it.
 * Unpriced models are listed only when pricing is not required (through an alias or a bare id: the gateway
 * cannot enumerate a provider's models).
 */
async function modelsFor(caller: Caller, anthropic: boolean, services: Services): Promise<ListedModel[]> {
  const { config, prices, providers } = services
  const data: ListedModel[] = []
  const priced = await prices.all()
  for (let i = 0; i < priced.length; i++) {
    // Tens of thousands of priced models take ~100 ms to go through: the requests behind this one run meanwhile.
    if (i > 0 && i % YIELD_EVERY === 0) await yieldToRequests()
    const price = priced[i]!
    const model = providers.resolve(price.model)
    if (model?.canonical === price.model && servable(caller, price.model, model, services))
      data.push(listed(price.model, model.providerName, price))
  }
  for (const alias of Object.keys(providers.aliases).sort()) {
    const model = providers.resolve(alias)
    if (!model) continue
    const price = await prices.priceOf(model.canonical)
    if ((price || !config.require_pricing) && servable(caller, alias, model, services))
      data.push(listed(alias, model.providerName, price))
  }
  // A bare id is no price row's name: the allow-list is where it can be found.
  const allowed = caller.kind === 'key' ? (caller.allowedModels ?? []) : []
  const bareIds = [...new Set(allowed)].sort()
  for (let i = 0; i < bareIds.length; i++) {
    if (i > 0 && i % YIELD_EVERY === 0) await yieldToRequests()
    const id = bareIds[i]!
    if (Object.hasOwn(providers.aliases, id) || providers.resolve(id)) continue
    const model = providers.resolve(id, anthropic ? 'anthropic' : 'openai')
    if (!model || !servable(caller, id, model, services)) continue
    const price = await prices.priceOf(model.canonical)
    if (price || !config.require_pricing) data.push(listed(id, model.providerName, price))
  }
  return data
}

/**
 * The model an id names for this caller, resolved as a request's `model` is (an alias, `provider:model` or
 * `provider/model`, a bare id through the default provider of the format asked for) and answered under that id:
 * whatever name the key may call, it may also retrieve, listed or not.
 */
async function modelNamed(id: string, caller: Caller, anthropic: boolean, services: Services): Promise<ListedModel | null> {
  const { config, prices, providers } = services
  refuseKeyInModelName(config, id)
  // No longer than a request body's `model` may be: no such name can be called, and each would be looked up and kept.
  if (id.length > MODEL_NAME_MAX_LENGTH) return null
  const model = providers.resolve(id, anthropic ? 'anthropic' : 'openai')
  if (!model || !servable(caller, id, model, services)) return null
  const price = await prices.priceOf(model.canonical)
  return price || !config.require_pricing ? listed(id, model.providerName, price) : null
}

/** The id as written: the SDKs percent-encode it (`team%2Ffast`); one that does not decode names no model. */
function decoded(id: string): string | null {
  try {
    return decodeURIComponent(id)
  } catch {
    return null
  }
}

const PRICES_DOC =
  'Prices are USD per million tokens, `per_request` USD per call, `server_tools` USD per use, `service_tiers` multipliers of every token rate. '

export const modelsRoutes = (services: Services) => {
  const retrieve = async (request: Request, id: string | null) => {
    const anthropic = request.headers.has('anthropic-version')
    const model = id === null ? null : await modelNamed(id, authenticated(requestState(request)), anthropic, services)
    if (!model) throw notFound(`No model ${JSON.stringify(id === null ? id : modelNameShown(id))} that this key may call.`, 'model_not_found')
    return anthropic ? anthropicModel(model) : model
  }

  return new Elysia({ name: 'models' })
    .get(
      '/v1/models',
      async ({ request }) => {
        const anthropic = request.headers.has('anthropic-version')
        const data = await modelsFor(authenticated(requestState(request)), anthropic, services)
        return anthropic ? anthropicList(request, data) : jsonWithList(request, { object: 'list' }, 'data', data)
      },
      {
        detail: {
          tags: ['inference'],
          summary: 'Models this key may call, with their prices (OpenAI list format; Anthropic\'s with `anthropic-version`)',
          description:
            'Priced models by `provider:model`, configured aliases by name, and the bare ids the key\'s allow-list names, as the default provider serves them. ' +
            PRICES_DOC +
            'A request carrying `anthropic-version` (the Anthropic SDKs) gets Anthropic\'s list format: `{data: [{type, id, display_name, created_at}], has_more, first_id, last_id}`, without prices.',
        },
      },
    )
    .get(
      '/v1/models/:id',
      // Elysia percent-decodes `:id` once, as `decoded` does the wildcard, and gives null for a malformed escape.
      ({ request, params }) => retrieve(request, params.id as string | null),
      {
        detail: {
          tags: ['inference'],
          summary: 'One model this key may call, as `GET /v1/models` lists it (`models.retrieve` in the SDKs)',
          description:
            PRICES_DOC +
            'The id is any name a request may give as `model` (`provider:model`, `provider/model`, an alias, a bare id the default provider serves), answered under that name; ' +
            'a `/` in it may be sent percent-encoded (%2F), as the SDKs send it, or as is. With `anthropic-version`, Anthropic\'s format `{type, id, display_name, created_at}`. 404 for a model the key may not call.',
        },
      },
    )
    // The same route reached with a raw `/` in the id (`openrouter:openai/gpt-4o`), which the one-segment `:id` cannot match.
    .get('/v1/models/*', ({ request, params }) => retrieve(request, decoded(params['*'])), { detail: { hide: true } })
}
