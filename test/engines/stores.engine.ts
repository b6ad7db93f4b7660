/**
 * One suite, two stores: the gateway suites below run on SQLite under `npm test`, and here, unchanged, on
 * the Postgres store: each file in a `bun test` of its own with TOLLGATE_TEST_DATABASE_URL set, so that the
 * test harness (test/support/gateway.ts) gives every gateway a Postgres database where it would give it a
 * SQLite file. The ledger's own suite runs on both through test/engines/ledger.engine.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { BUN, ROOT } from '../support/gateway'
import { startPostgres, type TestPostgres } from './support/postgres'

export const SUITES_ON_BOTH_STORES = [
  'budget',
  'ledger-chaos',
  'budget-precision',
  'swept-hold-records-held-tokens',
  'swept-hold-unbilled-excess',
  'who-pays',
  'records',
  'records-api',
  'usage-summary-walk-one-snapshot',
  'cli-usage-summary-all-one-snapshot',
  'usage-filter-bare-model',
  'walk-late-row-first-whole-day',
  'overview-day-and-month-edges',
  'daily-other-series',
  'csv-separators',
  'refused-log',
  'key-as-model-name',
  'users',
  'keys',
  'pricing-api',
  'price-schedule',
  'price-based-on',
  'price-reprice-after-cancel',
  'unprice-schedule-only',
  'unprice-across-skewed-clocks',
  'price-in-flight',
  'price-media-part-tokens',
  'price-context-window-tokens',
  'console-overview',
  'unpriced-models-forget',
  'console-sessions',
  'console-session-max-lowered',
  'alerts',
  'alert-period-end',
  'alert-expiring-keys-pages',
  'alert-period-switch',
  'period-change-keeps-calendar-spend',
  'period-change-spend-before-the-first',
  'alert-threshold-fraction',
  'alert-ended-period-new-budget',
  'alert-restart-ended-period',
  'alert-budget-lowered-back',
  'alert-budget-reused-user-id',
  'alert-webhook-unknown-to-process',
  'alert-delivery-late-result',
  'alert-history-retention',
  'alert-delivery-removed-webhook-backlog',
  'event-alert-with-its-change',
  'billed-features',
  'responses-context',
  'responses-context-other-model',
  'responses-context-other-tokenizer',
  'responses-reasoning-by-id',
  'responses-item-reference-tool-output',
  'responses-items-by-id',
  'responses-item-results-left-out',
  'responses-stored-without-usage',
  'stored-first-owner-keeps',
  'responses-stream-repeated-final-size',
  'stored-responses-retention',
  'responses-delete-unconfirmed',
  'responses-zero-usage-stored-size',
  'responses-stream-items-unlisted',
  'responses-store-false-input-item',
  'responses-audio-in-stored-context',
  'responses-container-ownership',
  'messages-container-ownership',
  'count-tokens-container-ownership',
  'audio-id-other-user',
  'responses-chain-generated-image',
  'key-in-flight',
  'session-in-flight',
  'hold-refuses-dead-key',
  'rotated-key-behind-cache',
  'deleted-user-stale-key',
  'key-usage-deleted-key',
  'usage-ids-count-others',
  'revoked-key-reads',
  'records-consistency',
  'records-page-totals-snapshot',
  'admin-in-flight',
  'nul-characters',
  'cli-times-utc',
  'usage-daily-days-until-midnight',
  'audit-until-exclusive',
  'audit-method-other',
  'refusals-upstream-series',
  'deleted-user-usage',
  'audit-client-ip-spellings',
  'audit-stream-latency',
  'metrics-settled-after-sweep',
  'empty-filter-refused',
  'empty-cursor-refused',
  'forged-cursor-refused',
  'alert-delivery-free-call-slot',
  'alert-delivery-hanging-webhook',
  'audio-stream-flag',
  'transcription-stream-flag-as-relayed',
  'spec-routes-matrix',
  'spec-admin-records',
  'spec-edge-misc',
  'spec-rate-limit-budget-zero',
  'stream-let-go-usage-buffered',
  'stream-client-left-usage-buffered',
  'stream-timeout-cut-finished-usage',
  'whole-hold-charge-records-held-tokens',
  'stream-let-go-bills-arrived-output',
  'stream-stop-paused-client',
  'chat-image-output-modality',
]

let pg: TestPostgres
beforeAll(async () => {
  pg = await startPostgres()
})
afterAll(async () => {
  await pg?.destroy()
})

describe('the gateway suites on the Postgres store', () => {
  for (const suite of SUITES_ON_BOTH_STORES)
    test(`${suite}.test.ts`, async () => {
      const proc = Bun.spawn([BUN, 'test', '--timeout', '60000', `./test/${suite}.test.ts`], {
        cwd: ROOT,
        env: { ...process.env, TOLLGATE_TEST_DATABASE_URL: pg.url },
        stdout: 'pipe',
        stderr: 'pipe',
      })
      const [code, out, err] = await Promise.all([proc.exited, new Response(proc.stdout).text(), new Response(proc.stderr).text()])
      const failures = (out + err).split('\n').filter((line) => /^\(fail\)|^error:|✗/.test(line))
      if (code !== 0) console.error(`${suite}.test.ts on Postgres:\n${(out + err).slice(-6000)}`)
      expect({ suite, code, failures }).toEqual({ suite, code: 0, failures: [] })
    }, 300_000)
})
