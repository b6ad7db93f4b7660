import { Elysia } from 'elysia'
import { authenticated, requestState } from '../http/request-state'
import { mayCall } from '../keys/caller'
import type { Price } from '../pricing/price'
import { priceAmountsOf } from '../pricing/price-amounts'
import type { Services } from '../services'

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

/** Anthropic's list format, which its SDKs (and Claude Code) read: they send `anthropic-version`. */
function anthropicList(models: ListedModel[]) {
  return {
    data: models.map((m) => ({ type: 'model' as const, id: m.id, display_name: m.id, created_at: new Date(m.created * 1000).toISOString() })),
    has_more: false,
    first_id: models[0]?.id ?? null,
    last_id: models.at(-1)?.id ?? null,
  }
}

/**
 * What this caller may call, with prices: every priced model of a configured provider, and every alias
 * under its own name. Unpriced models are listed only when pricing is not required (through an alias:
 * the gateway cannot enumerate a provider's models).
 */
export const modelsRoutes = ({ config, prices, providers }: Services) =>
  new Elysia({ name: 'models' }).get(
    '/v1/models',
    async ({ request }) => {
      const caller = authenticated(requestState(request))
      const data: ListedModel[] = []
      for (const price of await prices.all()) {
        const model = providers.resolve(price.model)
        if (model?.canonical === price.model && mayCall(caller, price.model, price.model, providers.aliases))
          data.push(listed(price.model, model.providerName, price))
      }
      for (const alias of Object.keys(providers.aliases).sort()) {
        const model = providers.resolve(alias)
        if (!model) continue
        const price = await prices.priceOf(model.canonical)
        if ((price || !config.require_pricing) && mayCall(caller, alias, model.canonical, providers.aliases))
          data.push(listed(alias, model.providerName, price))
      }
      return request.headers.has('anthropic-version') ? anthropicList(data) : { object: 'list' as const, data }
    },
    {
      detail: {
        tags: ['inference'],
        summary: 'Models this key may call, with their prices (OpenAI list format; Anthropic\'s with `anthropic-version`)',
        description:
          'Priced models by `provider:model`, and configured aliases by name. Prices are USD per million tokens, `per_request` USD per call, ' +
          '`server_tools` USD per use, `service_tiers` multipliers of every token rate. ' +
          'A request carrying `anthropic-version` (the Anthropic SDKs) gets Anthropic\'s list format: `{data: [{type, id, display_name, created_at}], has_more, first_id, last_id}`, without prices.',
      },
    },
  )
