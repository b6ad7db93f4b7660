import { Elysia } from 'elysia'
import { notFound, unauthorized } from '../http/errors'
import { createMasterKeyCheck } from '../keys/secret'
import { credentialOf } from '../plugins/auth'
import type { Services } from '../services'

/**
 * GET /metrics in Prometheus text format. Off unless `metrics_enabled`; then it answers the master key
 * or, so that a scraper need not hold the master key, the separate `metrics_token`.
 */
export const metricsRoutes = ({ config, metrics, ledger }: Services) => {
  const isMaster = createMasterKeyCheck(config.master_key)
  const isToken = config.metrics_token ? createMasterKeyCheck(config.metrics_token) : () => false
  return new Elysia({ name: 'metrics' }).get(
    '/metrics',
    async ({ request }) => {
      if (!config.metrics_enabled) throw notFound('Unknown route.')
      const secret = credentialOf(request.headers)
      if (!secret || !(isMaster(secret) || isToken(secret))) throw unauthorized('The metrics need the master key or the metrics token.')
      await metrics.readReservations(() => ledger.flush())
      return new Response(metrics.registry.render(), { headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } })
    },
    { detail: { tags: ['health'], summary: 'Prometheus metrics (off by default; master key or metrics token)' } },
  )
}
