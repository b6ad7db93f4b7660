import { Elysia } from 'elysia'
import { badRequest, forbidden } from '../../http/errors'
import { nulField } from '../../http/nul'
import { requestState } from '../../http/request-state'
import type { Services } from '../../services'
import { takesConsoleSession } from '../session-security'
import { alertRoutes } from './alerts'
import { keyRoutes } from './keys'
import { overviewRoutes } from './overview'
import { pricingRoutes } from './pricing'
import { providerRoutes } from './providers'
import { recordRoutes } from './records'
import { userRoutes } from './users'

/**
 * Every administration route lives under this plugin, and this plugin lets only the master key through.
 * The check runs at transform, before the body is validated, so other keys learn nothing of the schema.
 */
export const adminRoutes = (services: Services) =>
  takesConsoleSession(
    new Elysia({ name: 'admin' })
      .onTransform(({ request, body }) => {
        if (requestState(request).caller?.kind !== 'master') throw forbidden('admin_only', 'This route needs the master key.')
        // Nothing an operator names (an alias, a key's name, a model, a webhook) holds a NUL, which Postgres
        // cannot store: refused on both stores, as the path and query are at the edge.
        const field = nulField(body)
        if (field !== null) throw badRequest(`Invalid body: ${field || 'body'}: holds a NUL character.`, 'invalid_request')
      })
      .use(userRoutes(services))
      .use(keyRoutes(services))
      .use(overviewRoutes(services))
      .use(pricingRoutes(services))
      .use(recordRoutes(services))
      .use(alertRoutes(services))
      .use(providerRoutes(services)),
  )
