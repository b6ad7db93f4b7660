/**
 * How long each console page's API calls take on a big database (made by bench/console-data.ts):
 * `bun bench/console-pages.ts <db file> [runs]`. A real gateway on that file; each call warmed once, then
 * timed `runs` times in a row (median and worst). The figures go in bench/README.md.
 */
import { configSchema } from '../src/config/schema'
import { startGateway } from '../src/server'

const [file, runsArg] = process.argv.slice(2)
if (!file) throw new Error('usage: bun bench/console-pages.ts <db file> [runs]')
const RUNS = Number(runsArg ?? 5)
const MASTER = 'bench-master-key-0123456789abcdef-0123456789'

const gateway = await startGateway(configSchema.parse({ master_key: MASTER, port: 0, db: file, log_level: 'warn', audit_retention_days: 0 }))
const headers = { authorization: `Bearer ${MASTER}` }
const get = async (path: string) => {
  const res = await fetch(gateway.url + path, { headers })
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`)
  return res.json() as Promise<any>
}

const since30 = new Date(Date.now() - 30 * 86_400_000).toISOString()
const usagePage = await get('/v1/usage?limit=25')
const pages: Array<[string, string[]]> = [
  ['Overview', ['/v1/usage/overview', '/v1/usage/daily?by=model', '/v1/usage/daily?by=user', '/v1/audit/refusals', '/v1/pricing/unpriced']],
  ['Users', ['/v1/users?limit=25', '/v1/users?limit=25&cursor=user-0500']],
  ['Keys', ['/v1/keys?limit=25', '/v1/keys?limit=25&user_id=user-0500']],
  ['Prices', ['/v1/pricing?limit=25', '/v1/pricing/history?limit=25', '/v1/pricing/unpriced']],
  [
    'Usage',
    [
      '/v1/usage?limit=25',
      `/v1/usage?limit=25&cursor=${usagePage.next_cursor}`,
      '/v1/usage?limit=25&user_id=user-0500',
      '/v1/usage/daily?by=model&user_id=user-0500',
      '/v1/usage?limit=25&key_id=key_user-0500_1',
      '/v1/usage/daily?by=model&key_id=key_user-0500_1',
      '/v1/usage?limit=25&model=provider1:model-4',
      '/v1/usage/daily?by=model&model=provider1:model-4',
      '/v1/usage?limit=25&status=error',
      '/v1/usage/daily?by=model&status=error',
      `/v1/usage?limit=25&since=${since30}&user_id=user-0500`,
      '/v1/usage?limit=25&model=provider1:never-used',
      '/v1/usage/summary?limit=25',
      `/v1/usage/summary?limit=25&since=${since30}`,
      '/v1/usage/summary?limit=25&user_id=user-0500',
    ],
  ],
  ['Audit', ['/v1/audit?limit=25', '/v1/audit?limit=25&status=402']],
]

console.log(`${file}: ${RUNS} timed runs per call after one warm-up\n`)
console.log('page     | call | median ms | worst ms')
console.log('---|---|---|---')
for (const [page, calls] of pages)
  for (const call of calls) {
    await get(call)
    const times: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now()
      await get(call)
      times.push(performance.now() - t)
    }
    times.sort((a, b) => a - b)
    console.log(`${page} | \`${call.replace(/cursor=[^&]+/, 'cursor=…').replace(/since=[^&]+/, 'since=(30 days ago)')}\` | ${times[Math.floor(RUNS / 2)]!.toFixed(0)} | ${times.at(-1)!.toFixed(0)}`)
  }
await gateway.stop()
