/**
 * The console's browser tests: a gateway (startTestGateway's defaults) in front of a mock provider, driven through
 * Debian's headless chromium, and a page of it signed in with the master key.
 */
import { afterAll, beforeAll } from 'bun:test'
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core'
import { MASTER_KEY, startTestGateway, type TestGateway } from '../../support/gateway'
import { startMockProvider, type MockProvider } from '../../support/mock-provider'

const CHROMIUM = '/usr/bin/chromium'

/**
 * For a test file: the gateway, its mock provider and the browser, started before the file's tests and stopped
 * after them; `use` is handed the gateway and the browser once they are started. Playwright turns the browser's
 * back/forward cache off; `backForwardCache` leaves it on, as in a browser someone uses.
 */
export function withConsoleBrowser(use: (started: { gw: TestGateway; browser: Browser }) => void, options: { backForwardCache?: boolean } = {}): void {
  let mock: MockProvider | undefined
  let gw: TestGateway | undefined
  let browser: Browser | undefined
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
    mock = startMockProvider()
    gw = await startTestGateway({ mock })
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'],
      ignoreDefaultArgs: options.backForwardCache ? ['--disable-back-forward-cache'] : [],
    })
    use({ gw, browser })
  }, 60_000)
  afterAll(async () => {
    await browser?.close()
    await gw?.stop()
    await mock?.stop()
  })
}

/**
 * A new browser context (1280×900, `options` over that) whose page has signed in to the console with the master
 * key and shows the Overview. `initScript` runs in every document of the context before the console's own scripts.
 */
export async function signedInConsole(
  browser: Browser,
  gw: TestGateway,
  options: BrowserContextOptions = {},
  initScript?: () => void,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options })
  if (initScript) await context.addInitScript(initScript)
  const page = await context.newPage()
  await page.goto(`${gw.url}/ui`)
  await page.getByLabel('Master key or your API key').fill(MASTER_KEY)
  await page.keyboard.press('Enter')
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor()
  return { context, page }
}

/**
 * An init script for `signedInConsole`: every text a canvas draws is kept, with its x, in `globalThis.__drawn` (the
 * charts' axis labels, which no DOM query can read).
 */
export function recordCanvasText() {
  const drawn: Array<[string, number]> = ((globalThis as any).__drawn = [])
  const fillText = (globalThis as any).CanvasRenderingContext2D.prototype.fillText
  ;(globalThis as any).CanvasRenderingContext2D.prototype.fillText = function (text: string, x: number, y: number, ...rest: any[]) {
    drawn.push([String(text), Math.round(x)])
    return fillText.call(this, text, x, y, ...rest)
  }
}
