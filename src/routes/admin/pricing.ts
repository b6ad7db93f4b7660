import { Elysia } from 'elysia'
import { z } from 'zod'
import { microsToUsd } from '../../budget/money'
import { notFound } from '../../http/errors'
import type { Price } from '../../pricing/price'
import type { Services } from '../../services'

const usdPerMillion = z.number().nonnegative().max(1e6)
const createPrice = z
  .object({
    model: z.string().min(3).max(256).regex(/^[A-Za-z0-9_.-]+[:/].+$/, 'must be provider:model (or provider/model)'),
    input_per_million: usdPerMillion,
    output_per_million: usdPerMillion,
    cached_input_per_million: usdPerMillion.nullable().optional(),
    per_request: z.number().nonnegative().max(1e4).nullable().optional(),
  })
  .strict()

export const presentPrice = (p: Price) => ({
  id: p.id,
  model: p.model,
  input_per_million: microsToUsd(p.inputPerMillion),
  output_per_million: microsToUsd(p.outputPerMillion),
  cached_input_per_million: p.cachedInputPerMillion === null ? null : microsToUsd(p.cachedInputPerMillion),
  per_request: p.perRequest === null ? null : microsToUsd(p.perRequest),
  effective_from: new Date(p.createdAt).toISOString(),
})

/** Price rows. A POST adds a row that applies from now on; older usage rows keep citing the row they used. */
export const pricingRoutes = ({ prices, providers }: Services) =>
  new Elysia({ name: 'admin-pricing' })
    .post(
      '/v1/pricing',
      ({ body, set }) => {
        const canonical = providers.resolve(body.model)?.canonical ?? body.model
        set.status = 201
        return presentPrice(prices.set({ ...body, model: canonical }))
      },
      { body: createPrice, parse: 'json', detail: { tags: ['pricing'], summary: 'Set the price of provider:model from now on (USD per million tokens)' } },
    )
    .get('/v1/pricing', () => ({ data: prices.all().map(presentPrice) }), {
      detail: { tags: ['pricing'], summary: 'Prices in force' },
    })
    .get(
      '/v1/pricing/:model',
      ({ params }) => {
        const price = prices.priceOf(params.model)
        if (!price) throw notFound(`No price in force for ${JSON.stringify(params.model)}.`, 'price_not_found')
        return presentPrice(price)
      },
      { params: z.object({ model: z.string() }), detail: { tags: ['pricing'], summary: 'The price in force for provider:model' } },
    )
    .delete(
      '/v1/pricing/:model',
      ({ params }) => {
        const removed = prices.remove(params.model)
        if (!removed) throw notFound(`No price in force for ${JSON.stringify(params.model)}.`, 'price_not_found')
        return { ...presentPrice(removed), deleted: true }
      },
      { params: z.object({ model: z.string() }), detail: { tags: ['pricing'], summary: 'Unprice a model (history is kept)' } },
    )
