/**
 * The focus fix (4f98a4c9) took the secret panel's opener as `document.activeElement` when the panel
 * mounted, and the panel is keyed by its secret. A Rotate double-clicked (two rotations; the second secret replaces
 * the first panel) mounts the second panel after the first one's focused Copy button was removed: its opener is
 * <body>, so Done sends a keyboard or screen-reader user back to the top of the page, as before the fix.
 */
import { expect, test } from 'bun:test'
import type { Browser, Page } from 'playwright-core'
import type { TestGateway } from '../support/gateway'
import { signedInConsole, withConsoleBrowser } from './support/console-browser'

let gw: TestGateway
let browser: Browser

withConsoleBrowser((started) => ({ gw, browser } = started))

const focusedText = (page: Page) =>
  page.evaluate(() => {
    const el = (globalThis as any).document.activeElement
    if (el?.tagName === 'BODY') return 'BODY'
    return `${el?.tagName} ${el?.tagName === 'INPUT' ? el.name : el?.textContent}`
  })

test('after a double-clicked Rotate, Done gives focus back to the Rotate button, not <body>', async () => {
  const { keyId } = await gw.userWithKey({ id: 'rot-twice' }, { name: 'laptop' })
  const { context, page } = await signedInConsole(browser, gw, { permissions: ['clipboard-read', 'clipboard-write'] })
  await page.evaluate(() => ((globalThis as any).location.hash = '#/keys?user_id=rot-twice'))
  await page.getByRole('heading', { level: 1, name: 'Keys of rot-twice' }).waitFor({ timeout: 10_000 })

  const prefixBefore = (await gw.admin('GET', `/v1/keys/${keyId}`)).body.key_prefix
  const row = page.getByRole('row').filter({ hasText: 'laptop' })
  await row.getByRole('button', { name: 'Rotate' }).dblclick()
  await page.getByTestId('new-secret').waitFor({ timeout: 10_000 })
  // Both rotations landed; the panel shows the secret in force (the second).
  const shown = async () => (await page.getByTestId('new-secret').textContent()) ?? ''
  for (let i = 0; i < 50 && (await gw.admin('GET', `/v1/keys/${keyId}`)).body.key_prefix !== (await shown()).slice(0, 9); i++) await Bun.sleep(50)
  const prefixNow = (await gw.admin('GET', `/v1/keys/${keyId}`)).body.key_prefix
  expect(prefixNow).not.toBe(prefixBefore)
  expect((await shown()).startsWith(prefixNow)).toBe(true)
  const onSecretShown = await focusedText(page)

  await page.getByRole('button', { name: 'Done' }).focus()
  await page.keyboard.press('Enter')
  await page.getByTestId('new-secret').waitFor({ state: 'detached', timeout: 10_000 })
  await page.waitForFunction(() => (globalThis as any).document.activeElement?.tagName !== 'BODY', null, { timeout: 2_000 }).catch(() => {})
  const afterDone = await focusedText(page)
  await context.close()

  expect({ onSecretShown, afterDone }).toEqual({ onSecretShown: 'BUTTON Copy', afterDone: 'BUTTON Rotate' })
}, 60_000)
