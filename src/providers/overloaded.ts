/**
 * A provider saying it is overloaded and to come back shortly: Anthropic's `overloaded_error` (its 529, or an error
 * event inside a 200 stream) and OpenAI's `server_is_overloaded` and `slow_down` codes (a 503, or an error event or a
 * failed response inside a stream). Clients retry these, or switch to a fallback model, where they take another
 * server error as final (Claude Code counts overloaded_errors; Codex reads OpenAI's two codes as overloaded), so a
 * translation tells its client in that client's own family's words.
 */
const OVERLOADED_NAMES = new Set(['overloaded_error', 'server_is_overloaded', 'slow_down'])

/** Whether a provider error's own names (its `type`, its `code`) say it is overloaded. */
export const namesOverload = (names: readonly unknown[]): boolean => names.some((name) => typeof name === 'string' && OVERLOADED_NAMES.has(name))

/** Whether a provider's error object, in either family's shape (`{type, message}`, `{message, type, code}`), says so. */
function isOverloaded(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false
  const { type, code } = error as { type?: unknown; code?: unknown }
  return namesOverload([type, code])
}

/** Anthropic's error type for a stream's error event. */
export const anthropicErrorType = (error: unknown): string => (isOverloaded(error) ? 'overloaded_error' : 'api_error')

/** OpenAI's `type` and `code` for a chat stream's error event (OpenAI's own overload shape, or the gateway's 502's). */
export const openAIErrorNames = (error: unknown): { type: string; code: string } =>
  isOverloaded(error) ? { type: 'service_unavailable_error', code: 'server_is_overloaded' } : { type: 'api_error', code: 'upstream_error' }

/** The `error.code` of a failed Responses response. */
export const responsesErrorCode = (error: unknown): string => (isOverloaded(error) ? 'server_is_overloaded' : 'server_error')
