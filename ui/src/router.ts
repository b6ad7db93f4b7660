import { useEffect, useState } from 'preact/hooks'

/** A hash route: `#/keys?user_id=x` → { page: 'keys', params }. The page never reloads; the server serves only /ui. */
interface Route {
  page: string
  params: URLSearchParams
}

const parse = (): Route => {
  const hash = location.hash.replace(/^#\/?/, '')
  const [page = '', q = ''] = hash.split('?', 2)
  return { page, params: new URLSearchParams(q) }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parse)
  useEffect(() => {
    const onChange = () => setRoute(parse())
    addEventListener('hashchange', onChange)
    return () => removeEventListener('hashchange', onChange)
  }, [])
  return route
}

export const navigate = (page: string, params: Record<string, string> = {}) => {
  const q = new URLSearchParams(params).toString()
  location.hash = `#/${page}${q ? `?${q}` : ''}`
}
