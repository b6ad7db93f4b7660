/**
 * Child processes for the bench scripts: wait for the line that says a server listens, return its URL,
 * and keep draining its stdout afterwards (the gateway logs every request; a full pipe would stall it).
 */
export async function started(proc: ReturnType<typeof Bun.spawn>, pattern: RegExp): Promise<string> {
  const reader = (proc.stdout as ReadableStream<Uint8Array>).getReader()
  let out = ''
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const { value, done } = await reader.read()
    if (done) break
    out += new TextDecoder().decode(value)
    const m = pattern.exec(out)
    if (m) {
      void (async () => {
        while (!(await reader.read()).done);
      })()
      return m[1]!
    }
  }
  throw new Error(`did not start: ${out}`)
}

/**
 * For a child whose stdout goes to a file (as a container's log driver would take it): waits for the
 * line that says it listens, and returns its URL. Nothing on our side reads the rest of its output.
 */
export async function startedLoggingTo(proc: ReturnType<typeof Bun.spawn>, logFile: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const m = pattern.exec(await Bun.file(logFile).text().catch(() => ''))
    if (m) return m[1]!
    if (proc.exitCode !== null) break
    await Bun.sleep(20)
  }
  throw new Error(`did not start: ${await Bun.file(logFile).text().catch(() => '')}`)
}
