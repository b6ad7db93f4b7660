import { Elysia } from 'elysia'
import { clientAddress } from '../http/client-source'
import { peekRequestState, type RequestState } from '../http/request-state'
import type { RoutePatterns } from '../http/route-patterns'
import { whenAnswered } from '../http/streamed-answer'
import type { Services } from '../services'
import { withoutKeys } from '../keys/secret'
import { recordedLatency } from '../records/latency'
import { isPublic } from './auth'

const MAX_ROUTE_LENGTH = 512

/**
 * Every request, once its answer is sent, refusals included: a metrics sample, and a JSON log line (no
 * bodies, no secrets). A row in the API request log for everything but the public pages (so /v1/*, and
 * probes of odd paths too): a row each for requests with a key; requests answered before any key was known
 * (401, and a 413, 429 or preflight that came first) counted per source and interval, which a flood
 * cannot grow without bound. A successful health check is logged at debug: a container's probe every few
 * seconds would otherwise be most of the log; a failing one, like everything else, at info.
 *
 * The metrics sample is taken as the headers go out (the histogram is time to first byte for a stream); the log
 * line and the row once the answer is over, when a streamed body ends or its client leaves (`whenAnswered`), so
 * that they record the time the request took.
 */
export const requestLogger = (
  { requestLog, metrics, logger, config }: Pick<Services, 'requestLog' | 'metrics' | 'logger' | 'config'>,
  routes: RoutePatterns,
) => {
  const secrets = [config.master_key, config.metrics_token]

  const record = (request: Request, state: RequestState, status: number, known: string | undefined) => {
    const entry = {
      createdAt: Date.now(),
      requestId: state.id,
      method: request.method,
      route: withoutKeys(state.path, secrets).slice(0, MAX_ROUTE_LENGTH),
      status,
      latencyMs: recordedLatency(performance.now() - state.start),
      clientIp: clientAddress(state.clientIp),
      keyId: state.caller?.keyId ?? null,
      userId: state.userId ?? null,
    }
    if (!isPublic(state.path, request.method)) {
      if (state.caller) requestLog.append(entry)
      else requestLog.appendRefusal(entry, known)
    }
    const level = status < 400 && state.path === '/health' ? 'debug' : 'info'
    if (logger.enabled(level))
      logger.log(level, 'request', {
        request_id: entry.requestId, method: entry.method, route: entry.route, status, latency_ms: entry.latencyMs,
        client_ip: entry.clientIp, key_id: entry.keyId, user_id: entry.userId,
      })
  }

  return new Elysia({ name: 'request-log' }).onAfterResponse({ as: 'global' }, ({ request, set, responseValue, route }) => {
    const state = peekRequestState(request)
    if (!state) return
    const status = state.status ?? (responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200)
    // The route pattern, not the path: ids and probes must not each become a metrics series. A request
    // refused at the edge was never routed; it is counted under the route it would have reached.
    const known = route || routes.match(request.method, state.path)
    const pattern = known || 'unmatched'
    metrics.requests.inc({ route: pattern, method: metrics.methodLabel(request.method), status: String(status) })
    metrics.requestSeconds.observe({ route: pattern }, (performance.now() - state.start) / 1000)
    // A streamed answer that failed after its headers went out has its status noted by then (`noteStatus`).
    whenAnswered(state, () => record(request, state, state.status ?? status, known || undefined))
  })
}
