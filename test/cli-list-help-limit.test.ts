/**
 * README "Admin CLI": lists show one page (`--limit N`, up to 1000). Every list command takes --limit, but its own
 * `--help` (and `tollgate help`) left it out of all but `users usage`, so an operator reading the usage line had no
 * way to know a page's size could be set.
 */
import { expect, test } from 'bun:test'
import { runTollgate } from './support/cli'

const LISTS = [['users', 'list'], ['keys', 'list'], ['prices', 'list'], ['prices', 'history'], ['usage', 'list'], ['usage', 'summary'], ['users', 'usage']]

test("each list command's --help names --limit", async () => {
  for (const args of LISTS) {
    const { code, stdout } = await runTollgate('http://127.0.0.1:9', [...args, '--help'])
    expect({ args, code, limit: stdout.includes('[--limit N]') }).toEqual({ args, code: 0, limit: true })
  }
}, 60_000) // seven processes, on a busy machine
