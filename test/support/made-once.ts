import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'

/**
 * A directory made once for all the test processes that ask for it, at once too (bun's --parallel workers): each
 * that finds it missing makes its own beside it (`make` fills `making`) and renames it into place, which is atomic;
 * one that finds it there, made by another, uses that one. So it is only ever seen whole.
 */
export function madeOnce(dir: string, make: (making: string) => void): string {
  if (existsSync(dir)) return dir
  mkdirSync(dirname(dir), { recursive: true })
  const making = mkdtempSync(`${dir}-making-`)
  try {
    make(making)
    renameSync(making, dir)
  } catch (error) {
    rmSync(making, { recursive: true, force: true })
    if (!existsSync(dir)) throw error
  }
  return dir
}
