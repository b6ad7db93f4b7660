/**
 * The gateway's stdout is its log: one JSON object per line (README, Observability), which log shippers parse. A
 * `console.log` left in the store code (a timing print in the Postgres rollup-row probe, `ALONE 1 9`) wrote bare
 * lines there at every log level, `silent` included, each time a model's new rollup row was held elsewhere. Only the
 * CLI, whose stdout is its answer, and the worker group's supervisor, which prefixes its few lines, print directly.
 */
import { expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Glob } from 'bun'

const SRC = join(import.meta.dir, '..', 'src')
const PRINTS_TO_STDOUT = /\bconsole\.(log|info|debug)\s*\(/
const ALLOWED = [/^cli\//, /^workers\/group\.ts$/]

test('no source file outside the CLI prints to stdout beside the structured log', () => {
  const printing = [...new Glob('**/*.ts').scanSync(SRC)]
    .filter((file) => !ALLOWED.some((allowed) => allowed.test(file)))
    .filter((file) => PRINTS_TO_STDOUT.test(readFileSync(join(SRC, file), 'utf8')))
  expect(printing).toEqual([])
})
