/** The hold and outcome the engine tests hand the ledger directly, of a `p:…` model. */

/** A 5,000 µUSD hold of `userId` (no key) for a chat request of `model` (provider `p`). */
export const asked = (requestId: string, userId: string, model: string) => ({
  requestId, userId, keyId: null, keyHash: null, amount: 5_000, model, provider: 'p', endpoint: '/v1/chat/completions', priceId: null, stream: false,
})

/** A request that ended `ok` at `cost` µUSD, one token in and out. */
export const usageOf = (cost: number) => ({ cost, promptTokens: 1, completionTokens: 1, cachedTokens: 0, status: 'ok' as const, latencyMs: 1 })
