/**
 * "Create key" clicked twice before its answer came created two keys: the second answer's secret replaced the first
 * one's panel, so the first key's secret was shown to nobody (a live key nobody holds). A second submit while one is
 * on its way is now ignored.
 */
import { expect, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

test('a double-clicked Create key creates one key, whose secret is the one shown', async () => {
  await gw.admin('POST', '/v1/users', { id: 'double-create' })
  const { context, page } = await signedInConsole(browser, gw)
  await page.evaluate(() => ((globalThis as any).location.hash = '#/keys?user_id=double-create'))
  await page.getByRole('heading', { level: 1, name: 'Keys of double-create' }).waitFor({ timeout: 10_000 })

  await page.getByRole('button', { name: 'Create key' }).dblclick()
  await page.getByTestId('new-secret').waitFor({ timeout: 10_000 })
  await Bun.sleep(500) // a second creation, if one was sent, has landed by now
  const keys = (await gw.admin('GET', '/v1/keys?user_id=double-create')).body.data as Array<{ key_prefix: string }>
  const shown = (await page.getByTestId('new-secret').textContent()) ?? ''
  await context.close()

  expect(keys).toHaveLength(1)
  expect(shown.startsWith(keys[0]!.key_prefix)).toBe(true)
}, 60_000)
