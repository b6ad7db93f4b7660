import { describe, expect, test } from 'bun:test'
import { anthropicFeatures, openAIResponsesFeatures, responsesOfferedTools, responsesServerToolUses, unpricedFeature } from '../src/pricing/features'
import { costOf, heldAtProviderDefaults, NO_FEATURES, worstCaseCost, type Price, type RequestedFeatures, type TokenCounts } from '../src/pricing/price'
import { seededRandom } from './support/seeded'

/** The cost rules of src/pricing on their own: the hold covers every usage within the request's bounds, and the arithmetic stays exact. */
const base: Price = { id: 1, model: 'p:m', inputPerMillion: 3_000_000, outputPerMillion: 15_000_000, cachedInputPerMillion: 300_000, perRequest: null, createdAt: 0 }

describe('costOf and worstCaseCost', () => {
  test('property: the hold covers any usage within the request\'s bounds (seeded)', () => {
    const SEED = Number(process.env.PRICING_SEED ?? 20261201)
    const rand = seededRandom(SEED)
    const int = (n: number) => Math.floor(rand() * n)
    const maybe = (n: number) => (rand() < 0.5 ? null : int(n))
    for (let i = 0; i < 5000; i++) {
      const price: Price = {
        ...base,
        inputPerMillion: int(20_000_000),
        outputPerMillion: int(80_000_000),
        cachedInputPerMillion: maybe(20_000_000),
        perRequest: maybe(10_000),
        cacheWritePerMillion: maybe(40_000_000),
        cacheWrite1hPerMillion: maybe(60_000_000),
        audioInputPerMillion: maybe(100_000_000),
        audioOutputPerMillion: maybe(200_000_000),
        imageOutputPerMillion: maybe(400_000_000),
        serverTools: { web_search: int(50_000) },
        tierMultipliers: { priority: 1000 + int(3000), flex: int(1000), long_context: 1000 + int(1000), inference_geo_us: int(2000), ...(rand() < 0.5 ? { long_context_output: int(2000) } : {}) },
      }
      // Web searches, some in the server tool loop (a router's web results are not); web fetches, each at the
      // allowance or at a max_content_tokens of its own; tool searches, passes that bring back nothing held.
      const allowance = int(30_000)
      const searches = rand() < 0.5 ? 1 + int(10) : 0
      const loopSearches = int(searches + 1)
      const fetches = int(4)
      const contentTokens = rand() < 0.5 ? 0 : 1 + int(50_000)
      const toolSearches = int(3)
      const other = rand() < 0.5 ? NO_FEATURES.toolResultInput : { uses: int(10), tokens: int(100_000) }
      const loopUseResults = [...Array(loopSearches).fill(allowance), ...Array(fetches).fill(contentTokens || allowance), ...Array(toolSearches).fill(0)]
      const requested: RequestedFeatures = {
        serverTools: searches > 0 ? { web_search: searches } : {},
        tier: [null, 'priority', 'flex'][int(3)]!,
        audioInput: rand() < 0.5,
        audioOutput: rand() < 0.5,
        imageOutput: rand() < 0.5,
        cacheWrites: [null, '5m', '1h'][int(3)] as RequestedFeatures['cacheWrites'],
        longContext: rand() < 0.3,
        toolResultInput: { uses: other.uses + (contentTokens ? 0 : fetches), tokens: other.tokens + (contentTokens ? fetches * contentTokens : 0) },
        compaction: rand() < 0.3,
        toolLoopUses: loopUseResults.length,
        toolLoopResults: { uses: loopSearches + (contentTokens ? 0 : fetches), tokens: contentTokens ? fetches * contentTokens : 0, largestUse: contentTokens },
        inferenceGeo: rand() < 0.5 ? null : 'us',
        providerDefaults: { tier: rand() < 0.5, geo: rand() < 0.5, cacheWrites: rand() < 0.5, audioInput: rand() < 0.5 },
      }
      const inputTokens = int(400_000)
      const outputTokens = int(50_000)
      const uses = searches
      const passes = requested.compaction ? 2 : 1
      // A server tool loop samples the model once more after each use, over the input, the results outside the loop,
      // the results of the uses so far (the largest first, at worst) and what it wrote before (at most the output).
      const outsideLoop = (searches - loopSearches + other.uses) * allowance + other.tokens
      const largestFirst = loopUseResults.toSorted((a, b) => b - a)
      let loopInput = 0
      for (let pass = 0; pass <= largestFirst.length; pass++)
        loopInput += inputTokens + outsideLoop + largestFirst.slice(0, pass).reduce((a, b) => a + b, 0) + (pass > 0 ? outputTokens : 0)
      const prompt = int(passes * loopInput + 1)
      const cached = int(prompt + 1)
      // Writes the provider makes by itself are billed where the row prices them (OpenAI's GPT-5.6 and later).
      const writesBilled = requested.cacheWrites !== null || (requested.providerDefaults.cacheWrites && price.cacheWritePerMillion != null)
      const writes = writesBilled ? int(prompt - cached + 1) : 0
      const completion = int(passes * outputTokens + 1)
      const usage: TokenCounts = {
        promptTokens: prompt,
        completionTokens: completion,
        cachedTokens: cached,
        cacheWriteTokens: writes,
        cacheWrite1hTokens: requested.cacheWrites === '1h' && rand() < 0.5 ? int(writes + 1) : undefined,
        audioInputTokens: requested.audioInput || requested.providerDefaults.audioInput ? int(prompt + 1) : 0,
        audioOutputTokens: requested.audioOutput ? int(completion + 1) : 0,
        imageOutputTokens: requested.imageOutput ? int(completion + 1) : 0,
        serverToolUses: rand() < 0.5 ? undefined : { web_search: int(uses + 1) },
        // A tier or geography left to the provider may come back as any the row prices (its default).
        tier: rand() < 0.5 ? undefined : rand() < 0.5 ? 'default' : requested.providerDefaults.tier && requested.tier === null ? ['priority', 'flex'][int(2)] : requested.tier ?? 'default',
        inferenceGeo: rand() < 0.5 ? undefined : rand() < 0.5 ? 'global' : requested.providerDefaults.geo && requested.inferenceGeo === null ? 'us' : requested.inferenceGeo ?? 'global',
      }
      // As cap-output holds it: a hard bound.
      const hold = worstCaseCost(price, inputTokens, outputTokens, heldAtProviderDefaults(price, requested), allowance)
      const cost = costOf(price, usage, requested)
      if (cost > hold) throw new Error(`seed ${SEED} case ${i}: cost ${cost} > hold ${hold}\n${JSON.stringify({ price, requested, usage, inputTokens, outputTokens, allowance })}`)
    }
  })

  test('cache writes the provider makes by itself are held at the 5-minute write rate, the fallback where the row sets none', () => {
    const implicit: RequestedFeatures = { ...NO_FEATURES, providerDefaults: { tier: false, geo: false, cacheWrites: true, audioInput: false } }
    // A row without a write rate is held at the fallback that settlement bills reported writes at (1.25× input).
    expect(heldAtProviderDefaults(base, implicit).cacheWrites).toBe('5m')
    expect(worstCaseCost(base, 1_000_000, 0, heldAtProviderDefaults(base, implicit))).toBe(costOf(base, { promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 0, cacheWriteTokens: 1_000_000 }, implicit))
    const writing: Price = { ...base, cacheWritePerMillion: 3_750_000 }
    expect(heldAtProviderDefaults(writing, implicit).cacheWrites).toBe('5m')
    expect(worstCaseCost(writing, 1_000_000, 0, heldAtProviderDefaults(writing, implicit))).toBe(3_750_000)
    // What the request marks itself stands (a 1-hour write is dearer), and a provider that writes only when asked is not held for it.
    expect(heldAtProviderDefaults(writing, { ...implicit, cacheWrites: '1h' }).cacheWrites).toBe('1h')
    expect(heldAtProviderDefaults(writing, NO_FEATURES).cacheWrites).toBeNull()
  })

  test('past 2^53 the cost is exact (BigInt), multipliers included', () => {
    const dear: Price = { ...base, inputPerMillion: 100_000_007, outputPerMillion: 300_000_001, cachedInputPerMillion: null, tierMultipliers: { priority: 1751 } }
    const usage: TokenCounts = { promptTokens: 123_456_789, completionTokens: 7_654_321, cachedTokens: 0, tier: 'priority' }
    const scaled = 123_456_789n * 100_000_007n + 7_654_321n * 300_000_001n
    expect(scaled * 1751n > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true)
    const expected = (scaled * 1751n + 999_999_999n) / 1_000_000_000n
    expect(expected < 1_000_000_000_000n).toBe(true)
    expect(costOf(dear, usage)).toBe(Number(expected))
    const small: Price = { ...base, inputPerMillion: 3_000_001, outputPerMillion: 0, cachedInputPerMillion: null, tierMultipliers: { flex: 333 } }
    // 7 × 3,000,001 × 0.333 = 6,993,002.331 micro-USD per million → 7 micro-USD, rounded up.
    expect(costOf(small, { promptTokens: 7, completionTokens: 0, cachedTokens: 0, tier: 'flex' })).toBe(7)
  })

  test('an inference geography: every token kind at its multiplier, on top of the tier\'s and the long context\'s; held at the dearer rate', () => {
    const price: Price = { ...base, cachedInputPerMillion: null, tierMultipliers: { fast: 6000, long_context: 2000, inference_geo_us: 1100 } }
    const us: RequestedFeatures = { ...NO_FEATURES, inferenceGeo: 'us' }
    const usage: TokenCounts = { promptTokens: 1000, completionTokens: 100, cachedTokens: 300, cacheWriteTokens: 200 }
    const plain = costOf(price, usage) // 500 input + 300 cached at $3/M, 200 writes at $3.75/M, 100 output at $15/M
    expect(plain).toBe(500 * 3 + 300 * 3 + 200 * 3.75 + 100 * 15) // 4650 micro-USD
    // Asked for, the usage silent: at the multiplier; reported, whatever was asked: at the reported geography's.
    expect(costOf(price, usage, us)).toBe(5115)
    expect(costOf(price, { ...usage, inferenceGeo: 'us' })).toBe(5115)
    expect(costOf(price, { ...usage, inferenceGeo: 'global' }, us)).toBe(plain)
    expect(costOf({ ...price, tierMultipliers: {} }, { ...usage, inferenceGeo: 'us' })).toBe(plain)
    // On top of fast mode, and of the long context.
    expect(costOf(price, { ...usage, tier: 'fast' }, { ...us, tier: 'fast' })).toBe(30_690)
    const long: TokenCounts = { promptTokens: 300_000, completionTokens: 0, cachedTokens: 0 }
    expect(costOf(price, long, { ...us, longContext: true })).toBe(1_980_000) // 300K at $3/M × 2 × 1.1
    // The hold: the plain worst case times the multiplier; a multiplier below 1 is held at the plain rates.
    expect(worstCaseCost(price, 1000, 100, us)).toBe(Math.ceil(worstCaseCost(price, 1000, 100) * 1.1))
    expect(worstCaseCost(price, 1000, 100, { ...us, tier: 'fast' })).toBe(Math.ceil(worstCaseCost(price, 1000, 100) * 6.6))
    expect(worstCaseCost({ ...price, tierMultipliers: { inference_geo_us: 900 } }, 1000, 100, us)).toBe(worstCaseCost(price, 1000, 100))
  })

  test('long context: long_context_output, when set, is output\'s multiplier instead of long_context; held likewise', () => {
    const price: Price = { ...base, cachedInputPerMillion: null, tierMultipliers: { long_context: 2000, long_context_output: 1500, inference_geo_us: 1100 } }
    const long: RequestedFeatures = { ...NO_FEATURES, longContext: true }
    const usage: TokenCounts = { promptTokens: 300_000, completionTokens: 1000, cachedTokens: 100_000, cacheWriteTokens: 100_000 }
    // 100K input + 100K cached at $3/M and 100K writes at $3.75/M, × 2; 1,000 output at $15/M × 1.5.
    expect(costOf(price, usage, long)).toBe(2 * (300_000 + 300_000 + 375_000) + 1.5 * 15_000)
    expect(costOf(price, usage, { ...long, inferenceGeo: 'us' })).toBe(Math.ceil(1.1 * (2 * 975_000 + 1.5 * 15_000)))
    // Unset, output is at long_context too; under the threshold neither applies.
    expect(costOf({ ...price, tierMultipliers: { long_context: 2000 } }, usage, long)).toBe(2 * (975_000 + 15_000))
    expect(costOf(price, { ...usage, promptTokens: 200_000, cacheWriteTokens: 0 }, long)).toBe(100_000 * 3 + 100_000 * 3 + 15_000)
    expect(worstCaseCost(price, 300_000, 1000, long)).toBe(2 * 300_000 * 3 + 1.5 * 15_000)
    // An output multiplier below 1 is held, and billed, at the plain output rate.
    expect(worstCaseCost({ ...price, tierMultipliers: { long_context: 2000, long_context_output: 500 } }, 300_000, 1000, long)).toBe(2 * 900_000 + 15_000)
  })

  test('without features, the rules are the plain ones', () => {
    expect(costOf(base, { promptTokens: 1_000_000, completionTokens: 1_000_000, cachedTokens: 500_000 })).toBe(1_500_000 + 150_000 + 15_000_000)
    expect(worstCaseCost(base, 1_000_000, 1_000_000, NO_FEATURES, 99_999)).toBe(3_000_000 + 15_000_000)
  })
})

describe('reading billed features from requests', () => {
  test('Anthropic cache_control: found at the top level, in system, tools, messages and tool results; 1h wins', () => {
    const bounds = { defaultMaxUses: 5, useInputTokens: 1000 }
    const marked = (ttl?: string) => ({ type: 'ephemeral', ...(ttl ? { ttl } : {}) })
    const lifetime = (body: Record<string, unknown>) => anthropicFeatures(body, bounds).features.cacheWrites
    expect(lifetime({ messages: [{ role: 'user', content: 'hi' }] })).toBeNull()
    expect(lifetime({ cache_control: marked(), messages: [] })).toBe('5m')
    expect(lifetime({ system: [{ type: 'text', text: 's', cache_control: marked('1h') }], messages: [] })).toBe('1h')
    expect(lifetime({ tools: [{ name: 't', cache_control: marked() }], messages: [] })).toBe('5m')
    const toolResult = { type: 'tool_result', tool_use_id: 'x', content: [{ type: 'text', text: 'r', cache_control: marked('1h') }] }
    expect(lifetime({ messages: [{ role: 'user', content: [{ type: 'text', text: 'a', cache_control: marked() }, toolResult] }] })).toBe('1h')
  })

  test('Anthropic inference_geo: a geography other than the default global is asked for; a non-string is a 400', () => {
    const bounds = { defaultMaxUses: 5, useInputTokens: 1000 }
    const geo = (inference_geo: unknown) => anthropicFeatures({ messages: [], inference_geo }, bounds).features.inferenceGeo
    expect(geo('us')).toBe('us')
    expect(geo('global')).toBeNull()
    expect(geo(null)).toBeNull()
    expect(geo(undefined)).toBeNull()
    expect(() => geo(['us'])).toThrow(/inference_geo/)
    expect(unpricedFeature({ ...base, tierMultipliers: { fast: 6000 } }, { ...NO_FEATURES, inferenceGeo: 'us' }, 10)).toMatch(/inference geography "us".*service_tiers\.inference_geo_us/)
    expect(unpricedFeature({ ...base, tierMultipliers: { inference_geo_us: 1100 } }, { ...NO_FEATURES, inferenceGeo: 'us' }, 10)).toBeNull()
    expect(unpricedFeature(base, { ...NO_FEATURES, inferenceGeo: 'us' }, 10)).not.toBeNull()
  })

  test('the Responses API: hosted web search is bounded by max_tool_calls, and counted from web_search_call items', () => {
    const bounds = { defaultMaxUses: 4 }
    const unbounded = openAIResponsesFeatures({ input: 'hi', tools: [{ type: 'web_search' }], service_tier: 'fast' }, bounds, 'gpt-5')
    expect(unbounded.body.max_tool_calls).toBe(4)
    expect(unbounded.features).toMatchObject({ serverTools: { web_search: 4 }, tier: 'priority' })
    const bounded = openAIResponsesFeatures({ input: 'hi', tools: [{ type: 'web_search_preview_2025_03_11' }], max_tool_calls: 2 }, bounds, 'gpt-5')
    expect(bounded.body.max_tool_calls).toBe(2)
    expect(bounded.features.serverTools).toEqual({ web_search: 2 })
    const plain = { input: 'hi', tools: [{ type: 'function', name: 'f' }] }
    // No service_tier: the project's default tier, which cap-output holds at the dearest priced; and the cache
    // writes OpenAI makes by itself, held where the row prices them.
    expect(openAIResponsesFeatures(plain, bounds, 'gpt-5')).toEqual({ body: plain, features: { ...NO_FEATURES, providerDefaults: { tier: true, geo: false, cacheWrites: true, audioInput: false } } })
    expect(responsesServerToolUses([{ type: 'web_search_call' }, { type: 'message' }, { type: 'web_search_call' }])).toEqual({ web_search: 2 })
  })

  test('the Responses API: file search, code interpreter and image generation are billed tools too, bounded together by max_tool_calls', () => {
    const tools = [{ type: 'file_search' }, { type: 'code_interpreter' }, { type: 'mcp' }]
    const { body, features } = openAIResponsesFeatures({ input: 'hi', tools }, { defaultMaxUses: 2 }, 'gpt-5')
    expect(body.max_tool_calls).toBe(2)
    expect(features.serverTools).toEqual({ file_search: 2, code_interpreter: 2 })
    // The image tool is served beside the others, but not beside a container's, whose images it would read unbounded.
    const imageTools = [{ type: 'file_search' }, { type: 'image_generation' }, { type: 'mcp' }]
    expect(openAIResponsesFeatures({ input: 'hi', tools: imageTools }, { defaultMaxUses: 2 }, 'gpt-5').features.serverTools).toEqual({ file_search: 2, image_generation: 2 })
    expect(() => openAIResponsesFeatures({ input: 'hi', tools: [...tools, { type: 'image_generation' }] }, { defaultMaxUses: 2 }, 'gpt-5')).toThrow('not served beside the image_generation tool')
    // A type named like an Object property is no billed tool, nor a free one: refused, as any type not known.
    expect(() => openAIResponsesFeatures({ input: 'hi', tools: [{ type: 'constructor' }] }, { defaultMaxUses: 2 }, 'gpt-5')).toThrow('a tool of type "constructor" is not served')
    const run = (container_id?: string) => ({ type: 'code_interpreter_call', container_id })
    const output = [run('cntr_a'), run('cntr_a'), run('cntr_b'), run(), { type: 'file_search_call' }, { type: 'image_generation_call' }, { type: 'constructor' }, { type: '__proto__' }]
    expect(responsesServerToolUses(output)).toEqual({ code_interpreter: 3, file_search: 1, image_generation: 1 })
  })

  test('the Responses API: tools offered in input items count as offered, and billed ones are served only when nothing is kept', () => {
    const bounds = { defaultMaxUses: 3, useInputTokens: 1_000 }
    const item = (type: string, tools: unknown[]) => ({ type, ...(type === 'additional_tools' ? { role: 'developer' } : { call_id: 'c', execution: 'client' }), tools })
    const body = {
      store: false,
      input: [item('additional_tools', [{ type: 'code_interpreter', container: { type: 'auto', memory_limit: '4g' } }]), item('tool_search_output', [{ type: 'mcp', server_label: 's' }, { type: 'web_search' }])],
    }
    const { body: sent, features } = openAIResponsesFeatures(body, bounds, 'gpt-5')
    expect(sent.max_tool_calls).toBe(3)
    expect(features.serverTools).toEqual({ code_interpreter_4g: 3, web_search: 3 })
    expect(features.toolResultInput.uses).toBe(3 + 1)
    // Settled by them too: the item's container size, and its billed tools.
    expect(responsesOfferedTools(body)).toEqual({ code_interpreter_call: 'code_interpreter_4g', shell_call: 'code_interpreter', billed: new Set(['code_interpreter', 'web_search']) })
    // Kept with the response, or in a conversation, a later turn could call them unpriced: refused, naming the item.
    for (const kept of [{ ...body, store: true }, { ...body, store: null }, { ...body, conversation: 'conv_1' }])
      expect(() => openAIResponsesFeatures(kept, bounds, 'gpt-5')).toThrow('Invalid body: input[0].tools: a "code_interpreter" tool offered in an input item is served only with store: false')
    const mcpOnly = { input: [item('additional_tools', [{ type: 'mcp', server_label: 's' }])] }
    expect(() => openAIResponsesFeatures(mcpOnly, bounds, 'gpt-5')).toThrow('a "mcp" tool offered in an input item is served only with store: false')
    // Free tools are served wherever they are, kept or not; an mcp_list_tools item's listing offers nothing.
    const free = { input: [item('additional_tools', [{ type: 'function', name: 'f' }]), { type: 'mcp_list_tools', server_label: 's', tools: [{ name: 'web_search', input_schema: {} }] }] }
    expect(openAIResponsesFeatures(free, bounds, 'gpt-5').body).toBe(free)
  })

  test('the Responses API, hard bounds: each file_search call is held at max_num_results chunks of 4,096 tokens past the allowance', () => {
    const hard = { defaultMaxUses: 2, useInputTokens: 20_000, hardBounds: true }
    const resultInput = (tools: unknown[], bounds: Parameters<typeof openAIResponsesFeatures>[1] = hard) =>
      openAIResponsesFeatures({ input: 'hi', tools, max_tool_calls: 3 }, bounds, 'gpt-5').features.toolResultInput.tokens
    expect(resultInput([{ type: 'file_search' }])).toBe(3 * (20 * 4096 - 20_000))
    expect(resultInput([{ type: 'file_search', max_num_results: 50 }, { type: 'file_search', max_num_results: 2 }])).toBe(3 * (50 * 4096 - 20_000))
    expect(resultInput([{ type: 'file_search', max_num_results: 4 }])).toBe(0)
    expect(resultInput([{ type: 'web_search' }])).toBe(0)
    expect(resultInput([{ type: 'file_search' }], { ...hard, hardBounds: false })).toBe(0)
  })
})
