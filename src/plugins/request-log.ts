import { Elysia } from 'elysia'
import { peekRequestState } from '../http/request-state'
import type { Services } from '../services'
import { isPublic } from './auth'

const MAX_ROUTE_LENGTH = 512

/**
 * One row per request to anything but the public pages (so /v1/*, and probes of odd paths too), once
 * its answer is sent, refusals included. No bodies, no secrets.
 */
export const requestLogger = ({ requestLog, metrics, logger }: Pick<Services, 'requestLog' | 'metrics' | 'logger'>) =>
  new Elysia({ name: 'request-log' }).onAfterResponse({ as: 'global' }, ({ request, set, responseValue, route }) => {
    const state = peekRequestState(request)
    if (!state) return
    const status = state.status ?? (responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200)
    const seconds = (performance.now() - state.start) / 1000
    // The route pattern, not the path: ids and probes must not each become a metrics series.
    const pattern = route || 'unmatched'
    metrics.requests.inc({ route: pattern, method: request.method, status: String(status) })
    metrics.requestSeconds.observe({ route: pattern }, seconds)
    if (isPublic(state.path, request.method)) return
    const entry = {
      createdAt: Date.now(),
      requestId: state.id,
      method: request.method,
      route: state.path.slice(0, MAX_ROUTE_LENGTH),
      status,
      latencyMs: Math.round(seconds * 1000),
      clientIp: state.clientIp,
      keyId: state.caller?.keyId ?? null,
      userId: state.userId ?? null,
    }
    requestLog.append(entry)
    if (logger.enabled('info'))
      logger.log('info', 'request', {
        request_id: entry.requestId, method: entry.method, route: entry.route, status, latency_ms: entry.latencyMs,
        client_ip: entry.clientIp, key_id: entry.keyId, user_id: entry.userId,
      })
  })
