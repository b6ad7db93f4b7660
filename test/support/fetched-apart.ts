import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A GET's answer read by another process: its status, and its body once asked for (`text`). */
export interface FetchedApart {
  status: number
  text(): string
}

/**
 * GETs `url` in a process of its own, which writes the body to a file: a test probing the gateway meanwhile
 * (request-thread-hold.ts) is then not slowed by its own event loop receiving and decoding a large answer, which
 * would stretch its probes and count the gateway's sliced work for them as one hold. The body is read from the file
 * only when `text` is called, after the probes.
 */
export async function fetchedApart(url: string, headers: Record<string, string> = {}): Promise<FetchedApart> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-fetched-'))
  const file = join(dir, 'body')
  const child = Bun.spawn([process.execPath, import.meta.path, JSON.stringify({ url, headers, file })], { stdout: 'pipe', stderr: 'inherit' })
  const status = Number(await new Response(child.stdout).text())
  if ((await child.exited) !== 0 || !Number.isInteger(status)) throw new Error(`the fetch of ${url} in a child process failed`)
  return {
    status,
    text() {
      try {
        return readFileSync(file, 'utf8')
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

if (import.meta.main) {
  const { url, headers, file } = JSON.parse(process.argv[2]!)
  const res = await fetch(url, { headers })
  await Bun.write(file, res)
  process.stdout.write(String(res.status))
  process.exit(0)
}
