import { redactStrings } from '../providers/upstream'
import { formatSse, type SseEvent } from '../translate/sse'

/**
 * A provider's error event as the client gets it: re-serialised under its own name with `redactStrings`
 * applied (SPEC §3: provider error text is never forwarded with credentials). The translators read the
 * metered stream, so a translated stream's error carries the redacted text too. Only error events come
 * here; every other event passes as it came.
 */
export const redactedErrorEvent = (sse: SseEvent, event: object, secrets?: () => readonly string[]): string =>
  formatSse(redactStrings(event, secrets?.() ?? []), sse.event ?? undefined)
