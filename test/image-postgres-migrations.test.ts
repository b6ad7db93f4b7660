/**
 * The replicas of deploy/compose.yaml are built from the Dockerfile and run on Postgres, and each applies the committed
 * migrations in `drizzle-pg/` at startup (README "Scaling out"): the image carries that folder where
 * src/store/postgres/store.ts looks for it. It once did not (neither the runtime stage's COPY lines nor .dockerignore's
 * allow-list had it), so every replica of the deployment failed at startup. scripts/container-check.sh checks the built
 * image too.
 */
import { describe, expect, test } from 'bun:test'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { PG_MIGRATIONS } from '../src/store/postgres/store'
import { ROOT } from './support/gateway'

/** The files the runtime stage copies from the build context into the app folder (COPY lines without --from). */
function imageLayout(): string {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8')
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '))
  const app = mkdtempSync(join(tmpdir(), 'tollgate-image-layout-'))
  for (const line of runtime.split('\n')) {
    const m = /^COPY\s+(?!--from)(.+)$/.exec(line.trim())
    if (!m) continue
    const parts = m[1]!.split(/\s+/)
    const dest = parts.pop()!
    for (const src of parts) cpSync(join(ROOT, src), join(app, dest === './' ? src : dest), { recursive: true })
  }
  return app
}

describe('the container image carries the Postgres migrations', () => {
  test('.dockerignore lets drizzle-pg/ into the build context', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim())
    expect(ignore).toContain('!drizzle-pg/')
  })

  test('the runtime stage has drizzle-pg/meta/_journal.json where the Postgres store reads it', () => {
    const app = imageLayout()
    try {
      expect(existsSync(join(app, 'drizzle', 'meta', '_journal.json'))).toBe(true) // the SQLite ones are there
      expect(existsSync(join(app, relative(ROOT, PG_MIGRATIONS), 'meta', '_journal.json'))).toBe(true)
    } finally {
      rmSync(app, { recursive: true, force: true })
    }
  })
})
