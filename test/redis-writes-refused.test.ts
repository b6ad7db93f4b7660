/**
 * Redis's replies that refuse writes each name their own reason (shown as /health's `redis_error`), not
 * "unreachable"; they stay outages (the failure mode applies). OOM and NOREPLICAS are produced for real in
 * test/engines/redis-refuses-writes.engine.ts; MISCONF and BUSY need a failing disk or a script left running.
 */
import { expect, test } from 'bun:test'
import { isOutage, writesRefused } from '../src/redis/link'

test('a Redis refusing writes is an outage with its reason; other replies keep theirs', () => {
  const replies = [
    "OOM command not allowed when used memory > 'maxmemory'. script: 82cd…, on @user_script:1.",
    'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist on disk.',
    'NOREPLICAS Not enough good replicas to write.',
    'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.',
    "READONLY You can't write against a read only replica.",
    'NOSCRIPT No matching script.',
    'ERR Error running script',
    'OOMPH not a code of Redis',
    'toString',
  ]
  expect(replies.map((r) => [writesRefused(new Error(r)) ?? null, isOutage(new Error(r))])).toEqual([
    ['out_of_memory', true],
    ['misconf', true],
    ['no_replicas', true],
    ['busy', true],
    [null, true],
    [null, false],
    [null, false],
    [null, true],
    [null, true],
  ])
})
