/** The methods the API answers. Bun accepts more (WebDAV's and others), which records count as `other`. */
const API_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/** A method as a label or a log key: one of the API's, else `other`, so that a client cannot add values. */
export const knownMethod = (method: string): string => (API_METHODS.has(method) ? method : 'other')

/**
 * The route pattern (`/v1/users/:id`) a request would have been routed to, for requests refused before
 * routing (401, 413, 429): a metrics label must be a pattern, never a raw path, or every probed path would
 * become a series. Built once from the app's own route list; a lookup is one Map get for a static route
 * and a few anchored regexes for the dynamic ones, because refusals are what a flood is made of.
 */
export class RoutePatterns {
  private readonly exact = new Map<string, string>()
  private readonly dynamic = new Map<string, Array<{ regex: RegExp; pattern: string }>>()

  learn(routes: ReadonlyArray<{ method: string; path: string }>): this {
    for (const { method, path } of routes) {
      if (!path.includes(':') && !path.includes('*')) {
        this.exact.set(`${method} ${path}`, path)
        continue
      }
      const source = path
        .split('/')
        .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment === '*' ? '.*' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')
      const list = this.dynamic.get(method) ?? []
      list.push({ regex: new RegExp(`^${source}$`), pattern: path })
      this.dynamic.set(method, list)
    }
    return this
  }

  /** As the router does: HEAD is answered by GET routes, and one trailing slash is ignored. */
  match(method: string, path: string): string | undefined {
    const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
    return this.find(method, bare) ?? (method === 'HEAD' ? this.find('GET', bare) : undefined)
  }

  private find(method: string, path: string): string | undefined {
    const exact = this.exact.get(`${method} ${path}`)
    if (exact) return exact
    for (const { regex, pattern } of this.dynamic.get(method) ?? []) if (regex.test(path)) return pattern
    return undefined
  }
}
