/**
 * README "A deployment to copy: deploy/": compose publishes nginx on 8080 ("8080:8080") in front of replicas with
 * TOLLGATE_TRUST_PROXY=true, and README "Admin console" says: open http://<gateway>/ui and sign in. The gateway
 * compares the browser's Origin (`http://gateway.example:8080`) with `<scheme>://<Host or X-Forwarded-Host>`
 * (src/console/session-auth.ts isSameOrigin), so nginx must forward the Host as the browser sent it, port
 * included: nginx's `$host` drops the port, and the sign-in was refused 403 origin_mismatch.
 *
 * The headers nginx sends are worked out from the file's `proxy_set_header` lines ($host = host without port,
 * $http_host = as sent), so the check needs no nginx. Where nginx is installed (/usr/sbin/nginx), the real nginx
 * also runs deploy/nginx.conf (only its upstream servers, port and pid/log paths changed).
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MASTER_KEY, ROOT, startTestGateway, type TestGateway } from './support/gateway'
import { freePort } from './support/free-port'

const NGINX = '/usr/sbin/nginx'
const conf = readFileSync(join(ROOT, 'deploy', 'nginx.conf'), 'utf8').replace(/^\s*#.*$/gm, '')
let gateway: TestGateway
let nginx: { proc: ReturnType<typeof Bun.spawn>; port: number } | undefined

async function startNginx(upstream: string): Promise<{ proc: ReturnType<typeof Bun.spawn>; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-nginx-'))
  const port = freePort()
  const local = conf
    .replace(/server\s+tollgate-\d:8080/g, `server ${upstream}`)
    .replace(/listen\s+8080;/, `listen 127.0.0.1:${port};`)
    .replace(/^pid [^;]*;/m, `pid ${dir}/nginx.pid; error_log ${dir}/error.log; daemon off;`)
    .replace(/http \{/, `http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir};`)
  writeFileSync(join(dir, 'nginx.conf'), local)
  const proc = Bun.spawn([NGINX, '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdout: 'ignore', stderr: 'pipe' })
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)) break
    await Bun.sleep(50)
  }
  return { proc, port }
}

beforeAll(async () => {
  gateway = await startTestGateway({ config: { trust_proxy: true } }) // as deploy/compose.yaml sets it
  if (existsSync(NGINX)) nginx = await startNginx(new URL(gateway.url).host)
})

afterAll(async () => {
  nginx?.proc.kill('SIGQUIT')
  await nginx?.proc.exited
  await gateway?.stop()
})

/** The headers nginx sends upstream for a browser request whose Host is `host`, as the conf sets them. */
function forwardedHeaders(host: string): Record<string, string> {
  const vars: Record<string, string> = { host: host.replace(/:\d+$/, ''), http_host: host, server_port: '8080', scheme: 'http', remote_addr: '203.0.113.7' }
  const out: Record<string, string> = { host: vars.host! }
  for (const m of conf.matchAll(/proxy_set_header\s+(\S+)\s+("[^"]*"|\S+);/g)) {
    const value = m[2]!.replace(/^"|"$/g, '').replace(/\$(\w+)/g, (_, v: string) => vars[v] ?? '')
    out[m[1]!.toLowerCase()] = value
  }
  return out
}

async function signIn(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/v1/session`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ key: MASTER_KEY }) })
  const text = await res.text()
  return { status: res.status, body: text.includes('origin_mismatch') ? 'origin_mismatch' : 'ok' }
}

test('deploy/nginx.conf forwards the Host the browser sent, port included', () => {
  expect(forwardedHeaders('gateway.example:8080').host).toBe('gateway.example:8080')
})

test('the console can be signed in to through deploy/nginx.conf on the published port 8080', async () => {
  const browserHost = 'gateway.example:8080'
  const origin = `http://${browserHost}` // what a browser at http://<host>:<port>/ui sends
  expect(await signIn(gateway.url, { ...forwardedHeaders(browserHost), origin })).toEqual({ status: 200, body: 'ok' })

  if (nginx) {
    const host = `localhost:${nginx.port}`
    expect(await signIn(`http://127.0.0.1:${nginx.port}`, { host, origin: `http://${host}` })).toEqual({ status: 200, body: 'ok' })
  }
}, 30_000)
