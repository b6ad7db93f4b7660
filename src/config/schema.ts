import { z } from 'zod'
import { LOG_LEVELS } from '../log/logger'
import { wholeMicrosPerMillion, wholeMicrosPerRequest } from '../pricing/price-amounts'

/** Reads "true"/"false"/"1"/"0" from the environment; YAML gives real booleans. */
const flag = z.union(
  [z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes')],
  { error: 'must be true or false (1/0, yes/no)' },
)

/**
 * A whole number from YAML (a number) or the environment (its text). Empty text, or a YAML key left
 * without a value, is an error: `z.coerce.number` would read both as 0, a valid but unintended setting.
 */
const wholeNumber = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
  z.number({ error: 'must be a whole number' }).int('must be a whole number'),
)
const positiveInt = wholeNumber.pipe(z.number().positive())
const nonNegativeInt = wholeNumber.pipe(z.number().nonnegative())

const originList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((o) => o.trim()).filter(Boolean))
  .pipe(z.array(z.url({ abort: true }).refine((o) => new URL(o).origin === o, 'must be an exact origin such as https://app.example.com')))

const provider = z.strictObject({
  type: z.enum(['openai', 'anthropic']),
  base_url: z.url().transform((u) => u.replace(/\/+$/, '')),
  api_key: z.string().default(''),
  headers: z.record(z.string(), z.string()).default({}),
})

/** Prices are whole micro-USD (the ledger's unit): a finer one would have to be rounded, down perhaps. */
const priceSeed = z.strictObject({
  input_per_million: wholeMicrosPerMillion.default(0),
  output_per_million: wholeMicrosPerMillion.default(0),
  cached_input_per_million: wholeMicrosPerMillion.optional(),
  per_request: wholeMicrosPerRequest.optional(),
})

/** `provider:model`; the provider part is checked against `providers` below. */
const modelRef = z.string().regex(/^[A-Za-z0-9_.-]+[:/].+$/, 'must look like provider:model')

/** Strict at every level: a misspelt key (`provider:`, `rate_limit_per_minute`) would otherwise be ignored silently. */
export const configSchema = z
  .strictObject({
    master_key: z
      .string({ error: 'is required (set TOLLGATE_MASTER_KEY)' })
      .min(32, 'must be at least 32 characters'),
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 asks the system for any free port (the test harness and benchmarks do); it must be written out, never empty. */
    port: wholeNumber.pipe(z.number().min(0).max(65535)).default(8080),
    db: z.string().min(1).default('./data/tollgate.db'),
    require_pricing: flag.default(true),
    reject_user_mismatch: flag.default(true),
    cors_allowed_origins: originList.default([]),
    rate_limit_per_min: positiveInt.optional(),
    trust_proxy: flag.default(false),
    disable_security_headers: flag.default(false),
    max_body_bytes: positiveInt.default(26_214_400),
    default_max_output_tokens: positiveInt.default(4096),
    cap_output_tokens: flag.default(false),
    /** Upper bound on the input tokens of one image, audio or file part, for the estimate. */
    media_part_tokens: positiveInt.default(4096),
    reservation_ttl_sec: positiveInt.default(900),
    upstream_timeout_ms: positiveInt.default(600_000),
    /** A stream that sends nothing for this long is cut. */
    upstream_idle_timeout_ms: positiveInt.default(120_000),
    audit_retention_days: nonNegativeInt.default(30),
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
    /** Structured JSON logs on stdout: one line per request at `info`. */
    log_level: z.enum(LOG_LEVELS).default('info'),
    providers: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, 'provider names use letters, digits, _ . -'), provider).default({}),
    aliases: z.record(z.string(), modelRef).default({}),
    pricing: z.record(modelRef, priceSeed).default({}),
  })
  .superRefine((c, ctx) => {
    const known = (ref: string) => ref.split(/[:/]/, 1)[0]! in c.providers
    for (const [alias, target] of Object.entries(c.aliases))
      if (!known(target)) ctx.addIssue({ code: 'custom', path: ['aliases', alias], message: `names unknown provider in ${target}` })
    for (const model of Object.keys(c.pricing))
      if (!known(model)) ctx.addIssue({ code: 'custom', path: ['pricing', model], message: 'names an unknown provider' })
  })

export type Config = z.infer<typeof configSchema>
export type ProviderConfig = z.infer<typeof provider>
export type PriceSeed = z.infer<typeof priceSeed>
