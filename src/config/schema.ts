import { z } from 'zod'
import { DEFAULT_PDF_MAX_PAGES, DEFAULT_PDF_PAGE_TOKENS, DEFAULT_TEMPLATE_OVERHEAD_TOKENS } from '../budget/estimate'
import { masterKeyWeakness } from '../keys/secret'
import { postgresUrlProblem, redisUrlProblem, withPassword } from './client-urls'
import { quoted } from './quoted'
import { urlGivenAsPath } from './sqlite-path'
import { LOG_LEVELS } from '../log/logger'
import { REDIS_SCHEMES } from '../redis/schemes'
import { modelNameRefusal, writtenModelName } from '../providers/model-name'
import { ProviderRegistry } from '../providers/registry'
import { DEFAULT_DATABASE_TIMEOUT_MS } from '../store/postgres/errors'
import { featureName, lacksLongContextTier, LONG_CONTEXT_NEEDS_TIER, contextWindowTokens, longContextAboveTokens, mediaPartTokens, templateOverheadTokens, tierMultiplier, wholeMicrosPerMillion, wholeMicrosPerRequest } from '../pricing/price-amounts'

/** Reads "true"/"false"/"1"/"0" from the environment; YAML gives real booleans. */
const flag = z.union(
  [z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes')],
  { error: 'must be true or false (1/0, yes/no)' },
)

/** A whole number as the environment's text may spell it: decimal digits, no leading zero, a sign only for a minus. */
const DECIMAL_INTEGER = /^-?(0|[1-9][0-9]*)$/

/**
 * A whole number from YAML (a number: load.ts refuses one not written in decimal digits) or the environment (its
 * text, in decimal digits: Number() would also read `0x1F90`, `1e3`, `0o17`, `+80` and `Infinity`). Empty text, or
 * a YAML key left without a value, is an error: `z.coerce.number` would read both as 0, a valid but unintended
 * setting.
 */
const wholeNumber = z.preprocess(
  (v) => (typeof v === 'string' && DECIMAL_INTEGER.test(v.trim()) ? Number(v) : v),
  z.number({ error: 'must be a whole number in decimal digits, such as 8080' }).int('must be a whole number'),
)
const positiveInt = wholeNumber.pipe(z.number().positive())
/** The longest a timer can wait: beyond it the runtime fires at once (1 ms), so a larger setting is an error. */
export const MAX_TIMER_MS = 2_147_483_647
/** Milliseconds a timer waits. */
const timerMs = wholeNumber.pipe(z.number().positive().max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} (about 24.8 days: the longest a timer can wait)`))
/**
 * The longest upstream timeout, rounded up to a second: a hold need not outlive the longest call it can pay
 * for, and a longer one would only keep the budget of a request lost in a crash locked away for longer.
 */
const MAX_RESERVATION_TTL_SEC = Math.ceil(MAX_TIMER_MS / 1000)
const nonNegativeInt = wholeNumber.pipe(z.number().nonnegative())

const originList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((o) => o.trim()).filter(Boolean))
  .pipe(z.array(z.url({ abort: true }).refine((o) => new URL(o).origin === o, 'must be an exact origin such as https://app.example.com')))

/** A URL without the slashes it ends with (a loop: `/\/+$/` tries every slash of a long run not at the end). */
function withoutTrailingSlashes(url: string): string {
  let end = url.length
  while (end > 0 && url.charCodeAt(end - 1) === 47) end--
  return url.slice(0, end)
}

/**
 * Where a provider is called: the gateway appends its paths (`/chat/completions`, `/v1/messages`…), so a query
 * or a fragment would swallow them (`/v1?key=…/chat/completions`), and any scheme but http(s) fails every
 * request, or worse (fetch reads a `file:` URL).
 */
const baseUrl = z
  .url({ protocol: z.regexes.httpProtocol, abort: true, error: 'must be an http(s) URL' })
  .refine((u) => !/[?#]/.test(u), 'must have no query (?…) or fragment (#…): the gateway appends its paths (/chat/completions, /v1/messages…) to it; give a credential as api_key or in headers')
  .transform(withoutTrailingSlashes)

const provider = z.strictObject({
  type: z.enum(['openai', 'anthropic']),
  base_url: baseUrl,
  api_key: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
  /**
   * How `/v1/responses` reaches an OpenAI-type provider: `native` (its own `/responses`), or `chat`
   * (translated to `/chat/completions`, for compatible servers without the Responses API). Unset: native.
   */
  responses: z.enum(['native', 'chat']).optional(),
  /**
   * Which provider of the price catalog this one is (`openai`, `anthropic`, `groq`, …), for
   * `tollgate prices catalog`; `openai` and `azure` also get the output bound in `max_completion_tokens`, and
   * `openrouter` its `max_price`. Never guessed: a `type: openai` server may be OpenAI, Groq or a local one.
   */
  catalog: z.string().regex(/^[a-z0-9_.-]+$/, 'a catalog provider id such as openai, anthropic or groq').optional(),
  /** An OpenAI-compatible provider whose models take `reasoning_effort`: Anthropic `thinking` sent to it is mapped to that. */
  reasoning_effort: z.boolean().optional(),
})

/**
 * Prices are whole micro-USD (the ledger's unit): a finer one would have to be rounded, down perhaps. Both token
 * rates are required, as POST /v1/pricing requires them: a rate left out is a row not finished, never a free one
 * (a model with no tokens of a kind, a per-request or an embedding model, says 0).
 */
const requiredRate = z.unknown().refine((v) => v !== undefined, 'is required (0 if this model bills none)').pipe(wholeMicrosPerMillion)
const priceSeed = z.strictObject({
  input_per_million: requiredRate,
  output_per_million: requiredRate,
  cached_input_per_million: wholeMicrosPerMillion.optional(),
  per_request: wholeMicrosPerRequest.optional(),
  cache_write_per_million: wholeMicrosPerMillion.optional(),
  cache_write_1h_per_million: wholeMicrosPerMillion.optional(),
  audio_input_per_million: wholeMicrosPerMillion.optional(),
  audio_output_per_million: wholeMicrosPerMillion.optional(),
  image_output_per_million: wholeMicrosPerMillion.optional(),
  /** USD per use, by server tool (`web_search`). */
  server_tools: z.record(featureName, wholeMicrosPerRequest).optional(),
  /** Multiplier of every token rate, by service tier (`priority`, `flex`, `fast`; `long_context` and `inference_geo_us` on top of those; `long_context_output`, when set, instead of `long_context` on output). */
  service_tiers: z.record(featureName, tierMultiplier).optional(),
  /** Prompt tokens past which `service_tiers.long_context` applies to every request (OpenAI's GPT-5.4: 271999, as it bills 272K and above); unset: only with Anthropic's context-1m, past 200K. */
  long_context_above_tokens: longContextAboveTokens.optional(),
  /** The most input tokens one media part bills on this model (gpt-4o-mini: 48169, a high-detail image); with cap-output on, each is held at least at it. Unset: `media_part_tokens`. */
  media_part_tokens: mediaPartTokens.optional(),
  /** The model's context window in input tokens (gpt-4.1: 1047576); with cap-output on, a file by reference is held at it when larger than the PDF bound. */
  context_window_tokens: contextWindowTokens.optional(),
  /** The input tokens the model's chat template writes on its own (0: none); with cap-output on, held once a request where the provider renders it. Unset: `template_overhead_tokens`. */
  template_overhead_tokens: templateOverheadTokens.optional(),
}).refine((p) => !lacksLongContextTier(p), { path: ['long_context_above_tokens'], message: LONG_CONTEXT_NEEDS_TIER })

/** A webhook alerts are posted to: operator configuration only, never settable through the API (no SSRF). */
const webhook = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** The HMAC-SHA256 key of the signature header. */
  secret: z.string().min(16, 'must be at least 16 characters'),
})

/** Budget alerts and events (see src/alerts). Recorded even with no webhook; delivered to each one configured. */
const alertSettings = z.strictObject({
  webhooks: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'webhook names use letters, digits, _ . -'), webhook).default({}),
  /** Percent of a user's budget in its period, or of a key's ceiling, whose crossing raises an alert. */
  thresholds: z.array(z.number().positive().max(1000)).max(20).default([50, 80, 100]),
  /** A key expiring within this many days raises an alert; 0 turns it off. */
  key_expiry_days: nonNegativeInt.default(7),
  /** How often spend and expiries are checked (and unpriced refusals summed up). */
  check_interval_ms: timerMs.default(15_000),
  /** Refusals of an unpriced model are summed over this interval into one alert. */
  unpriced_interval_ms: timerMs.default(3_600_000),
  delivery_timeout_ms: timerMs.default(10_000),
  /** The first retry's delay; each next one doubles, up to an hour. */
  retry_base_ms: timerMs.default(5_000),
  max_attempts: positiveInt.default(12),
})

/**
 * `provider:model`, a price's key: at most 256 characters, as a price posted through the API, so that the pricing
 * list's cursor (a model name) is one it takes back; spelt as the API takes it (`writtenModelName`). The provider
 * part is checked against `providers` below.
 */
const pricedModel = writtenModelName.max(256, 'must be at most 256 characters, as a price posted through the API').regex(/^[A-Za-z0-9_.-]+[:/].+$/, 'must look like provider:model')

/**
 * An alias's target, `provider:model`: a value, not a key, so its refusal quotes it (a key is quoted in the path).
 * The provider part is checked against `providers` below.
 */
const aliasTarget = z
  .string()
  .max(256, 'must be at most 256 characters, as a model name the API takes')
  .regex(/^[A-Za-z0-9_.-]+[:/].+$/, 'must look like provider:model')
  .superRefine((name, ctx) => {
    const refusal = modelNameRefusal(name)
    if (refusal) ctx.addIssue({ code: 'custom', message: `${quoted(name)} ${refusal}` })
  })

/** Refuses a URL the client that will open it refuses (see client-urls.ts), naming the client and its reason. */
const takenBy = (client: string, problem: (url: string) => string | null) => (url: string, ctx: z.RefinementCtx) => {
  const reason = problem(url)
  if (reason) ctx.addIssue({ code: 'custom', message: `${client} refuses it: ${reason}` })
}

/**
 * A password given apart from its URL, so that it may hold any character: `openssl rand -base64` gives `/`, `+`
 * and `=`, which pasted into a URL end its user-info or are misread. Blank is empty, written in the file as
 * given in the environment. Its messages never quote it.
 */
const urlPassword = z
  .string()
  .refine((p) => p.trim() !== '', 'is empty; give the password, or unset it')
  .refine((p) => p.isWellFormed(), 'is not valid Unicode text')

/** Strict at every level: a misspelt key (`provider:`, `rate_limit_per_minute`) would otherwise be ignored silently. */
export const configSchema = z
  .strictObject({
    master_key: z.string({ error: 'is required (set TOLLGATE_MASTER_KEY)' }).superRefine((key, ctx) => {
      const weakness = masterKeyWeakness(key)
      if (weakness) ctx.addIssue({ code: 'custom', message: weakness })
    }),
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 asks the system for any free port (the test harness and benchmarks do); it must be written out, never empty. */
    port: wholeNumber.pipe(z.number().min(0).max(65535)).default(8080),
    /** The SQLite file, never a URL (urlGivenAsPath): one would be taken as a relative path. */
    db: z
      .string()
      .min(1)
      .superRefine((path, ctx) => {
        const reason = urlGivenAsPath(path)
        if (reason) ctx.addIssue({ code: 'custom', message: reason })
      })
      .default('./data/tollgate.db'),
    /** `postgres://…`: keep everything in this Postgres database (shared by replicas) instead of the SQLite file `db`. */
    database_url: z
      .string()
      .regex(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL', abort: true })
      .superRefine(takenBy('the Postgres client', postgresUrlProblem))
      .optional(),
    /** The password tollgate logs in to `database_url` with, in place of any written in the URL (see urlPassword). */
    database_password: urlPassword.optional(),
    /**
     * Postgres: how long any query (a hold, a settlement, /health's check, a key lookup, an admin call, a
     * background write, a stop's last writes) waits for an answer. A database that keeps the connection open
     * and answers nothing (a network black hole, a server stuck on I/O) is then taken as down: 503
     * database_unavailable, no provider call; settlements stay queued and are tried again.
     */
    database_timeout_ms: timerMs.default(DEFAULT_DATABASE_TIMEOUT_MS),
    require_pricing: flag.default(true),
    reject_user_mismatch: flag.default(true),
    cors_allowed_origins: originList.default([]),
    // The limiter counts in whole microseconds: a minute holds at most 60 million requests.
    rate_limit_per_min: wholeNumber.pipe(z.number().positive().max(60_000_000)).optional(),
    trust_proxy: flag.default(false),
    disable_security_headers: flag.default(false),
    max_body_bytes: positiveInt.default(26_214_400),
    /** The body bytes being read in pieces at once (src/http/body-budget.ts): past it, or past a quarter of it for one caller's bodies, a large body is refused 503 `body_read_busy`; bodies in flight take at most 1.75 times it of memory. */
    body_read_budget_bytes: positiveInt.default(67_108_864),
    default_max_output_tokens: positiveInt.default(4096),
    cap_output_tokens: flag.default(false),
    /** When the budget cannot cover a request's max output, send upstream the output it covers (if at least the floor) instead of a 402. A key may say otherwise. */
    clamp_output: flag.default(false),
    clamp_output_floor_tokens: positiveInt.default(256),
    /** Upper bound on the input tokens of one image, audio or file part, for the estimate. */
    media_part_tokens: positiveInt.default(4096),
    /** Input tokens per page of a PDF sent inline, for the estimate: providers bill each page's text and an image of it. */
    pdf_page_tokens: positiveInt.default(DEFAULT_PDF_PAGE_TOKENS),
    /** The pages an inline PDF is held at when its pages cannot be counted (object streams that cannot be read). */
    pdf_max_pages: positiveInt.default(DEFAULT_PDF_MAX_PAGES),
    /**
     * With cap-output on, input tokens held once a request for what a server's chat template writes on its own
     * (a default system prompt, a date header) towards an OpenAI-compatible provider that is not OpenAI's API.
     */
    template_overhead_tokens: nonNegativeInt.default(DEFAULT_TEMPLATE_OVERHEAD_TOKENS),
    /** `max_uses` given to a billed server tool (web search) that sets none: its worst case must be bounded. */
    server_tool_default_max_uses: positiveInt.default(5),
    /** Input tokens the hold allows for what each server tool use adds to the context (search results). */
    server_tool_use_input_tokens: nonNegativeInt.default(20_000),
    reservation_ttl_sec: wholeNumber
      .pipe(z.number().positive().max(MAX_RESERVATION_TTL_SEC, `must be at most ${MAX_RESERVATION_TTL_SEC} (about 24.9 days: past the longest upstream timeout)`))
      .default(900),
    upstream_timeout_ms: timerMs.default(600_000),
    /** A stream that sends nothing for this long is cut. */
    upstream_idle_timeout_ms: timerMs.default(120_000),
    /**
     * How long a stop (SIGTERM) lets the requests in flight finish; the stop then ends within about a second
     * more. The default leaves that inside the 10 s a container runtime waits before SIGKILL.
     */
    shutdown_grace_ms: timerMs.default(8_000),
    /**
     * Provider calls in flight at once (streams until they end). One more is refused with 503 and Retry-After
     * before its hold is taken, instead of waiting unseen in the runtime's queue with its hold open.
     */
    max_upstream_concurrency: positiveInt.default(2048),
    audit_retention_days: nonNegativeInt.default(30),
    /**
     * Days a stored response id (and its items) is kept: longer than any provider we know keeps a stored response
     * (OpenAI's and xAI's 30), so a chain is never cut here first. 0 keeps them. Conversations are always kept.
     * Never 1 to 30: an item forgotten here but kept there would be refused while the provider still serves it.
     */
    responses_retention_days: nonNegativeInt
      .refine((days) => days === 0 || days > 30, 'must be 0 (keep them) or at least 31: longer than a provider keeps a stored response (OpenAI and xAI: 30 days), or a request naming one tollgate forgot would be refused while the provider still keeps it')
      .default(60),
    /** How long a verified key (or a price list) is trusted before it is read again: other processes' revocations show within this. */
    cache_ttl_ms: nonNegativeInt.default(5_000),
    /** GET /metrics (Prometheus text): off unless enabled; answers the master key or `metrics_token`. */
    metrics_enabled: flag.default(false),
    metrics_token: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Console (/ui) sign-ins end after this many idle minutes, and this many hours after sign-in at the latest. */
    console_session_idle_min: positiveInt.default(30),
    console_session_max_hours: positiveInt.default(12),
    /** Console sign-in attempts per minute from one client address (the master key guessed slowly). */
    console_sign_ins_per_min: positiveInt.default(10),
    /**
     * Redis, shared by every replica: per-IP and per-key rate limits, and news of key and price changes.
     * Unset: limits count in each process, and other processes see changes within `cache_ttl_ms`.
     */
    redis_url: z
      .url({ protocol: new RegExp(`^(${REDIS_SCHEMES.join('|')})$`), error: 'must be a redis://, rediss://, valkey:// or valkeys:// URL', abort: true })
      .superRefine(takenBy('the Redis client', redisUrlProblem))
      .optional(),
    /** The password tollgate gives `redis_url`'s server, in place of any written in the URL (see urlPassword). */
    redis_password: urlPassword.optional(),
    /** Redis unreachable: `open` limits in each process alone and keeps serving; `closed` refuses with 503. */
    redis_failure: z.enum(['open', 'closed']).default('open'),
    /** Processes serving one port on this host (Linux: the kernel spreads connections among them). */
    workers: wholeNumber.pipe(z.number().min(1).max(256)).default(1),
    /** Structured JSON logs on stdout: one line per request at `info`. */
    log_level: z.enum(LOG_LEVELS).default('info'),
    providers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'provider names use letters, digits, _ . -'), provider).default({}),
    /** Alias → `provider:model`: an alias is a model name clients write, so it is spelt as one (`writtenModelName`). */
    aliases: z.record(writtenModelName, aliasTarget).default({}),
    /** Per wire format (the route's: chat is `openai`, messages `anthropic`), the provider a bare model id (`gpt-5`, `claude-opus-4-8`) goes to. */
    default_providers: z.strictObject({ openai: z.string().optional(), anthropic: z.string().optional() }).default({}),
    pricing: z.record(pricedModel, priceSeed).default({}),
    alerts: alertSettings.prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.database_password !== undefined && !c.database_url)
      ctx.addIssue({ code: 'custom', path: ['database_password'], message: 'is the password of TOLLGATE_DATABASE_URL, which is not set' })
    if (c.redis_password !== undefined && !c.redis_url)
      ctx.addIssue({ code: 'custom', path: ['redis_password'], message: 'is the password of TOLLGATE_REDIS_URL, which is not set' })
    const known = (ref: string) => Object.hasOwn(c.providers, ref.split(/[:/]/, 1)[0]!)
    for (const [alias, target] of Object.entries(c.aliases))
      if (!known(target)) ctx.addIssue({ code: 'custom', path: ['aliases', alias], message: `names unknown provider in ${target}` })
    for (const [name, p] of Object.entries(c.providers))
      if (p.type === 'anthropic' && p.responses !== undefined)
        ctx.addIssue({ code: 'custom', path: ['providers', name, 'responses'], message: 'applies to openai providers only (an anthropic provider is always translated)' })
    for (const [wire, name] of Object.entries(c.default_providers))
      if (name !== undefined && !Object.hasOwn(c.providers, name)) ctx.addIssue({ code: 'custom', path: ['default_providers', wire], message: `names unknown provider ${name}` })
    if (c.workers > 1 && c.port === 0)
      ctx.addIssue({ code: 'custom', path: ['workers'], message: 'needs a fixed port: with port 0 each worker would get a different one' })
    if (c.workers > 1 && c.db === ':memory:' && !c.database_url)
      ctx.addIssue({ code: 'custom', path: ['workers'], message: 'needs a database file or TOLLGATE_DATABASE_URL: with the database in memory each worker would keep keys and budgets of its own' })
    for (const model of Object.keys(c.pricing))
      if (!known(model)) ctx.addIssue({ code: 'custom', path: ['pricing', model], message: 'names an unknown provider' })
    // Seeds are stored under the model a key resolves to, as a request's name is: two keys for one model
    // (`p:m` and `p/m`, or an alias and its target) would leave whichever came last pricing it, silently.
    const registry = new ProviderRegistry(c)
    const firstKeyOf = new Map<string, string>()
    for (const key of Object.keys(c.pricing)) {
      const model = registry.canonicalName(key)
      const first = firstKeyOf.get(model)
      if (first === undefined) firstKeyOf.set(model, key)
      else ctx.addIssue({ code: 'custom', path: ['pricing', key], message: `names the same model (${model}) as pricing key ${first}: keep one of them` })
    }
  })
  // The passwords go into their URLs, the one place the clients read them from: no setting carries one apart.
  .transform(({ database_password, redis_password, ...c }) => {
    if (c.database_url !== undefined && database_password !== undefined) c.database_url = withPassword(c.database_url, database_password)
    if (c.redis_url !== undefined && redis_password !== undefined) c.redis_url = withPassword(c.redis_url, redis_password)
    return c
  })

export type Config = z.infer<typeof configSchema>
export type ProviderConfig = z.infer<typeof provider>
export type PriceSeed = z.infer<typeof priceSeed>
export type AlertSettings = z.infer<typeof alertSettings>
