import { Elysia } from 'elysia'
import type { Services } from '../../services'

/** The configured providers as tools need them (the catalog command): names, formats, catalog ids, aliases. Never a key or a URL. */
export const providerRoutes = ({ config }: Services) =>
  new Elysia({ name: 'admin-providers' }).get(
    '/v1/providers',
    () => ({
      data: Object.entries(config.providers).map(([name, p]) => ({
        name,
        type: p.type,
        catalog: p.catalog ?? null,
        aliases: Object.fromEntries(Object.entries(config.aliases).filter(([, target]) => target.split(/[:/]/, 1)[0] === name)),
      })),
    }),
    { detail: { tags: ['providers'], summary: 'Configured providers: name, wire format, price-catalog id and aliases (no secrets, no URLs)' } },
  )
