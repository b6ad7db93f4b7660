/** A wait watched by `watchForStalledWait`: say when it begins and when it is over. */
interface WaitWatch {
  begin(): void
  end(): void
  /** No more waits: the timer is cleared. */
  stop(): void
}

/**
 * Calls `onStalled` once a single wait has lasted `timeoutMs`. Only waiting counts, not the time between waits:
 * a stream's provider is idle only while a read waits on it, and its client only while what was read waits for
 * the client to take it. The timer is armed once for the whole stream, not per wait, and looks again later when no
 * wait has lasted that long yet.
 */
export function watchForStalledWait(timeoutMs: number, onStalled: () => void): WaitWatch {
  let waitingSince = 0
  const check = () => {
    const waited = waitingSince === 0 ? 0 : performance.now() - waitingSince
    if (waited >= timeoutMs) onStalled()
    else timer = setTimeout(check, timeoutMs - waited)
  }
  let timer = setTimeout(check, timeoutMs)
  return {
    begin: () => void (waitingSince = performance.now()),
    end: () => void (waitingSince = 0),
    stop: () => clearTimeout(timer),
  }
}
