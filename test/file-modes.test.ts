/**
 * Issue 12 item 14: the database holds key hashes, budgets and who called what. Outside the container
 * (no umask or volume to rely on) its folder is created 0700 and its files (db, -wal, -shm) 0600; an
 * existing one open to others is left alone, with a warning that names it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, spyOn, test } from 'bun:test'
import { chmodSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../src/db/open'
import { tempDir } from './support/gateway'

const root = tempDir('tollgate-modes-')
let umask: number
beforeAll(() => {
  // The usual umask, which lets 0755 folders and 0644 files be created.
  umask = process.umask(0o022)
})
afterAll(() => {
  process.umask(umask)
  rmSync(root, { recursive: true, force: true })
})

const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8)

describe('a new database', () => {
  let warn: ReturnType<typeof spyOn>
  afterEach(() => warn.mockRestore())

  test('folders 0700, database, -wal and -shm 0600, no warning', () => {
    warn = spyOn(console, 'warn').mockImplementation(() => {})
    const path = join(root, 'new', 'data', 'tollgate.db')
    const db = openDatabase(path)
    try {
      expect(modeOf(join(root, 'new'))).toBe('700')
      expect(modeOf(join(root, 'new', 'data'))).toBe('700')
      for (const file of [path, `${path}-wal`, `${path}-shm`]) expect({ file, mode: modeOf(file) }).toEqual({ file, mode: '600' })
      expect(warn).not.toHaveBeenCalled()
    } finally {
      db.$client.close()
    }
  })
})

describe('an existing database open to others', () => {
  let warn: ReturnType<typeof spyOn>
  afterEach(() => warn.mockRestore())

  test('is warned about, folder and file by name and mode, and left as it is', () => {
    warn = spyOn(console, 'warn').mockImplementation(() => {})
    const dir = join(root, 'shared')
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    const path = join(dir, 'tollgate.db')
    writeFileSync(path, '')
    chmodSync(path, 0o644)
    const db = openDatabase(path)
    try {
      const said = warn.mock.calls.map((c: unknown[]) => String(c[0])).join('\n')
      expect(said).toContain(`${dir} is open to other users (mode 0755)`)
      expect(said).toContain(`${path} is open to other users (mode 0644)`)
      expect(modeOf(path)).toBe('644')
    } finally {
      db.$client.close()
    }
  })
})
