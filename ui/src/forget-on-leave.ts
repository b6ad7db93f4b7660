import { useEffect } from 'preact/hooks'

/**
 * Forgets what is on screen as the page is left. The browser may keep a left page, as it is, in its
 * back/forward cache: Back would then show it again without a request, even once the session has ended.
 * `/ui` is `no-store`, which keeps a page out of that cache in most browsers, but not in every one.
 */
export function useForgetOnLeave(forget: () => void) {
  useEffect(() => {
    addEventListener('pagehide', forget)
    return () => removeEventListener('pagehide', forget)
  }, [])
}
