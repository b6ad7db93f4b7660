import { describe, expect, test } from 'bun:test'
import { estimateMessages } from '../src/budget/estimate'
import { estimateOptionsFor } from '../src/budget/estimate-options'
import type { Price } from '../src/pricing/price'
import type { TestGateway } from './support/gateway'
import { spendAtHeldBudget } from './support/held-budget'
import { jsonResponse, type ScriptedCall, type ScriptedUpstream, withScriptedGateway } from './support/scripted-upstream'

/**
 * With cap-output on, a Messages `document` by `file_id` or URL was held as the largest PDF a request may carry,
 * TOLLGATE_PDF_MAX_PAGES (100) × 3,000 tokens, or at the 1M window only when the request sent `anthropic-beta:
 * context-1m-…`. Every Claude model from Opus and Sonnet 4.6 has a 1M window with no flag, and Anthropic's PDF limit
 * is now "Maximum pages per request: 600 (100 when the request's context window is under 1M tokens)"
 * (platform.claude.com/docs/en/build-with-claude/pdf-support). A 600-page PDF by file id to claude-opus-4-6, billed
 * at the low end of 1,500 tokens a page, spent 900,004 µ$ on a budget of its hold, 300,097 (SPEC §6). Towards an
 * Anthropic provider the hold is now 600 pages, or 100 where the row's `context_window_tokens` is under 1M, and the
 * whole input no more than that window (1M where the row states none), since Anthropic refuses a prompt past it.
 * Rates: $0.5/M input, $2/M output.
 */
let upstream: ScriptedUpstream
let gw: TestGateway
const PAGE_TOKENS = 3000
const RATES = { input_per_million: 0.5, output_per_million: 2 }

withScriptedGateway(
  {
    cap_output_tokens: true,
    pricing: {
      'ant:claude-opus-4-6': RATES,
      'ant:claude-sonnet-4-6': { ...RATES, context_window_tokens: 1_000_000 },
      'ant:claude-haiku-4-5': { ...RATES, context_window_tokens: 200_000 },
    },
  },
  (started) => ({ upstream, gw } = started),
)

/** What Anthropic bills for a request whose document by reference fills `input` tokens. */
const billing = (input: number) => ({ body }: ScriptedCall) =>
  jsonResponse({
    id: 'msg_1', type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'ok' }],
    stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: input, output_tokens: 2 },
  })

const FILE = { type: 'document', source: { type: 'file', file_id: 'file_011CNha8iCJcU1wXNR6q4V8w' } }
const URL_PDF = { type: 'document', source: { type: 'url', url: 'https://example.com/annual-report.pdf' } }
const messages = (model: string, document: unknown) => ({
  model, max_tokens: 16, messages: [{ role: 'user', content: [document, { type: 'text', text: 'Summarise.' }] }],
})

describe('cap-output on: a document by reference to Claude never takes spend past max_budget', () => {
  const cases: [string, string, unknown, number][] = [
    // No window on its row: 600 pages at the low end of what Anthropic bills a page.
    ['a 600-page PDF by file_id, no window on the row', '/v1/messages', messages('ant:claude-opus-4-6', FILE), 600 * 1_500],
    ['a 600-page PDF by URL, no window on the row', '/v1/messages', messages('ant:claude-opus-4-6', URL_PDF), 600 * 1_500],
    // The row's 1M window: a text file by file_id that fills it.
    ['a text file filling the 1M window of its row', '/v1/messages', messages('ant:claude-sonnet-4-6', FILE), 999_900],
    // Under 1M, Anthropic takes 100 pages, and a file fills no more than the window.
    ['a file filling the 200K window of its row', '/v1/messages', messages('ant:claude-haiku-4-5', FILE), 199_900],
    [
      'a Responses input_file by URL translated to a document',
      '/v1/responses',
      {
        model: 'ant:claude-opus-4-6', max_output_tokens: 16, store: false,
        input: [{ role: 'user', content: [{ type: 'input_text', text: 'Summarise.' }, { type: 'input_file', file_url: 'https://example.com/annual-report.pdf' }] }],
      },
      600 * 1_500,
    ],
  ]
  for (const [name, path, body, billed] of cases)
    test(name, async () => {
      upstream.answer(billing(billed))
      const { second, spend, budget } = await spendAtHeldBudget(gw, path, body, `by-reference-${name.replace(/\W+/g, '-')}`)
      expect(JSON.stringify(upstream.calls.at(-1)!.body)).toContain('"document"')
      expect(second.status).toBe(200)
      expect(spend).toBeLessThanOrEqual(budget)
    })
})

describe('the bound of a file by reference towards Anthropic', () => {
  const CLAUDE = 'claude-opus-4-6'
  const config = { default_max_output_tokens: 4096, media_part_tokens: 4096, pdf_page_tokens: PAGE_TOKENS, pdf_max_pages: 100, cap_output_tokens: true, template_overhead_tokens: 1024 }
  const price = (contextWindowTokens: number | null): Price => ({ id: 1, model: 'ant:m', inputPerMillion: 1, outputPerMillion: 1, cachedInputPerMillion: null, perRequest: null, createdAt: 0, contextWindowTokens })
  const body = messages('ant:m', FILE)
  // Without hard bounds a file by reference counts the media bound (4,096): the rest is the request's own text.
  const text = estimateMessages(body, estimateOptionsFor({ ...config, cap_output_tokens: false }, null)).inputTokens - 4096
  const held = (c: typeof config, p: Price | null, opened?: number, anthropic = true) =>
    estimateMessages(body, estimateOptionsFor(c, p, { anthropic, openedWindowTokens: opened, upstreamModel: CLAUDE })).inputTokens - text

  /** The request's whole input as held: its own text and its files together. */
  const input = (c: typeof config, p: Price | null, opened?: number, b: Record<string, unknown> = body, upstreamModel = CLAUDE) =>
    estimateMessages(b, estimateOptionsFor(c, p, { anthropic: true, openedWindowTokens: opened, upstreamModel })).inputTokens

  test('the window where a file may fill it; the whole input never past the window, 1M where the row states none', () => {
    // 600 pages at 3,000 tokens (1.8M) are past every Claude window: Anthropic refuses such a prompt, bills none.
    expect(input(config, price(null))).toBe(1_000_000)
    // At 1,500 tokens a page 600 pages are less, but a text file by file_id may still fill the window.
    expect(input({ ...config, pdf_page_tokens: 1_500 }, price(null))).toBe(1_000_000)
    expect(input(config, null)).toBe(1_000_000)
    expect(input(config, price(1_000_000))).toBe(1_000_000)
    expect(input(config, price(500_000))).toBe(500_000)
    expect(input(config, price(200_000))).toBe(200_000)
    // Anthropic's 1M window opened by its flag, whatever the row says.
    expect(input(config, price(200_000), 1_000_000)).toBe(1_000_000)
    expect(input(config, price(null), 1_000_000)).toBe(1_000_000)
  })

  test('another model behind an Anthropic-compatible endpoint: no window assumed, its row window caps its files alone', () => {
    // Grok 4 Fast (2M window) through OpenRouter's Anthropic endpoint: 600 pages are held in full, not cut to 1M.
    expect(input(config, price(null), undefined, body, 'x-ai/grok-4-fast')).toBe(600 * PAGE_TOKENS + text)
    expect(input(config, price(2_000_000), undefined, body, 'x-ai/grok-4-fast')).toBe(2_000_000)
    // Its text is never held below its bytes, whatever window caps its files.
    const long = 'word '.repeat(300_000)
    const withText = { ...body, messages: [{ role: 'user', content: [FILE, { type: 'text', text: long }] }] }
    const held = input(config, price(1_000_000), undefined, withText, 'x-ai/grok-4-fast')
    expect(held).toBeGreaterThanOrEqual(long.length)
    expect(held).toBeLessThanOrEqual(1_000_000 + long.length)
    // To Claude 1.5 MB of text is past the 1M window: held at its bytes still, its file cut away.
    const claude = input(config, price(null), undefined, withText)
    expect(claude).toBeGreaterThanOrEqual(long.length)
    expect(claude).toBeLessThan(long.length + 1_000)
  })

  test('five files by reference share one prompt: together held no more than the window', () => {
    const five = { ...body, messages: [{ role: 'user', content: [FILE, FILE, FILE, FILE, FILE, { type: 'text', text: 'Summarise.' }] }] }
    expect(input(config, price(null), undefined, five)).toBe(1_000_000)
    expect(input(config, price(200_000), undefined, five)).toBe(200_000)
  })

  test('the pages a request may carry: 600 towards Anthropic, the configured maximum below a 1M window and elsewhere', () => {
    const pages = (c: typeof config, p: Price | null, anthropic = true, opened?: number) => estimateOptionsFor(c, p, { anthropic, openedWindowTokens: opened, upstreamModel: CLAUDE }).pdfMaxPages
    expect(pages(config, price(null))).toBe(600)
    expect(pages(config, price(1_000_000))).toBe(600)
    expect(pages(config, price(200_000))).toBe(100)
    expect(pages(config, price(200_000), true, 1_000_000)).toBe(600)
    expect(pages({ ...config, pdf_max_pages: 800 }, price(null))).toBe(800)
    expect(pages({ ...config, pdf_max_pages: 50 }, price(200_000))).toBe(50)
    // OpenAI's 100 pages; and with cap-output off the estimate is no hard bound: the configured maximum.
    expect(pages(config, price(null), false)).toBe(100)
    expect(pages({ ...config, cap_output_tokens: false }, price(null))).toBe(100)
  })

  test('an inline PDF whose pages cannot be read counts as the largest a request to Anthropic may carry', () => {
    // Not a PDF a reader can walk: no page, no page tree; declared a PDF by its media type.
    const unreadable = Buffer.from('%PDF-1.7\n% no objects a reader can count\n%%EOF\n').toString('base64')
    const inline = messages('ant:m', { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: unreadable } })
    const count = (p: Price | null, c = config) => estimateMessages(inline, estimateOptionsFor(c, p, { anthropic: true, upstreamModel: CLAUDE })).inputTokens
    expect(count(price(null), { ...config, pdf_page_tokens: 1_500 })).toBeGreaterThanOrEqual(600 * 1_500)
    // 600 pages at 3,000 tokens are past every Claude window: no more than 1M.
    expect(count(price(null))).toBe(1_000_000)
    // Under its row's 200K window: no more than the window, whatever 100 pages would count.
    expect(count(price(200_000))).toBeGreaterThanOrEqual(200_000)
    expect(count(price(200_000))).toBeLessThan(200_000 + 1_000)
  })

  test('towards OpenAI a file by reference keeps the configured bound, or its row window when larger', () => {
    expect(held(config, price(null), undefined, false)).toBe(100 * PAGE_TOKENS)
    expect(held(config, price(128_000), undefined, false)).toBe(100 * PAGE_TOKENS)
    expect(held(config, price(1_047_576), undefined, false)).toBe(1_047_576)
  })
})
