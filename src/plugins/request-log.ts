import { Elysia } from 'elysia'
import { peekRequestState } from '../http/request-state'
import type { RequestLog } from '../records/request-log'
import { isPublic } from './auth'

const MAX_ROUTE_LENGTH = 512

/**
 * One row per request to anything but the public pages (so /v1/*, and probes of odd paths too), once
 * its answer is sent, refusals included. No bodies, no secrets.
 */
export const requestLogger = (log: RequestLog) =>
  new Elysia({ name: 'request-log' }).onAfterResponse({ as: 'global' }, ({ request, set, responseValue }) => {
    const state = peekRequestState(request)
    if (!state || isPublic(state.path, request.method)) return
    const status = state.status ?? (responseValue instanceof Response ? responseValue.status : typeof set.status === 'number' ? set.status : 200)
    log.append({
      createdAt: Date.now(),
      requestId: state.id,
      method: request.method,
      route: state.path.slice(0, MAX_ROUTE_LENGTH),
      status,
      latencyMs: Math.round(performance.now() - state.start),
      clientIp: state.clientIp,
      keyId: state.caller?.keyId ?? null,
      userId: state.userId ?? null,
    })
  })
