/**
 * Mutation guard: README's table — host defaults to `127.0.0.1` (the container
 * sets `0.0.0.0` itself). A gateway started with no host setting must listen on the loopback address only, not
 * on every interface: the socket's own address is what is checked, not merely the parsed setting.
 */
import { expect, test } from 'bun:test'
import { configSchema } from '../src/config/schema'
import { startTestGateway } from './support/gateway'

test('no host setting: the default is 127.0.0.1, and the listening socket is bound to it', async () => {
  expect(configSchema.parse({ master_key: 'test-master-key-0123456789abcdef-0123456789' }).host).toBe('127.0.0.1')
  const gw = await startTestGateway()
  try {
    // The harness's URL is built from the listening server's own hostname (src/server.ts).
    expect(new URL(gw.url).hostname).toBe('127.0.0.1')
    expect((await fetch(`${gw.url}/health`)).status).toBe(200)
  } finally {
    await gw.stop()
  }
})

test('an explicit host is the one bound', async () => {
  const gw = await startTestGateway({ config: { host: '::1' } }).catch(() => null)
  // IPv6 loopback may be missing in a container: then there is nothing to check here.
  if (gw === null) return
  try {
    expect(new URL(gw.url).hostname).toBe('[::1]')
  } finally {
    await gw.stop()
  }
})

test('an empty host is refused, from the file as from the environment: Bun would listen on every interface', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs')
  const { join } = await import('node:path')
  const { tmpdir } = await import('node:os')
  const { ConfigError, loadConfig } = await import('../src/config/load')
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-host-'))
  const file = join(dir, 'tollgate.yaml')
  writeFileSync(file, 'host: ""\n')
  const refusal = (env: Record<string, string>) => {
    try {
      loadConfig({ TOLLGATE_MASTER_KEY: 'test-master-key-0123456789abcdef-0123456789', ...env })
      return null
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      return e.message
    }
  }
  try {
    expect(refusal({ TOLLGATE_CONFIG: file })).toContain('host (TOLLGATE_HOST):')
    expect(refusal({ TOLLGATE_HOST: '' })).toContain('host (TOLLGATE_HOST): is empty')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
