import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../engine/server/server'
import type { Workbench } from '../../engine/service/workbench'
import { artifacts, openApp, seedWorkbench, type AppSession } from './browser'

const VIEWS = ['datasets', 'tags', 'runs', 'compare', 'models', 'settings'] as const
let app: AppSession
let wb: Workbench
let server: RunningServer
let browser: Browser
let page: Page
let consoleErrors: string[]

beforeAll(async () => {
  app = await openApp(seedWorkbench)
  ;({ wb, server, browser, page, errors: consoleErrors } = app)
})
afterAll(() => app?.close())

describe('the UI over the loopback server, in Chromium', () => {
  it('requires the token: the API refuses a page without it', async () => {
    const noToken = await fetch(`${server.origin}/api/version`)
    expect(noToken.status).toBe(401)
    const guest = await browser.newPage()
    await guest.goto(`${server.origin}/#/settings`)
    await expect(guest.getByRole('alert').first().textContent({ timeout: 10_000 })).resolves.toMatch(/cannot connect|token/i)
    await guest.screenshot({ path: path.join(artifacts, 'no-token.png') })
    await guest.close()
  })

  it('loads with the token and takes it out of the address bar', async () => {
    await page.goto(server.url)
    await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor()
    expect(page.url()).not.toContain('token=')
    await page.getByText('websocket').first().waitFor()
  })

  it('opens every view and saves a screenshot of each', async () => {
    for (const view of VIEWS) {
      await page.locator(`nav a[data-view=${view}]`).click()
      const title = view[0].toUpperCase() + view.slice(1)
      await page.getByRole('heading', { name: title, level: 1 }).waitFor()
      expect(page.url()).toContain(`#/${view}`)
      await page.waitForLoadState('networkidle')
      await page.screenshot({ path: path.join(artifacts, `${view}.png`), fullPage: true })
    }
  })

  it('shows the seeded data: dataset files, run curves, models', async () => {
    await page.locator('nav a[data-view=datasets]').click()
    await page.getByRole('cell', { name: 'fortunes-zh' }).click()
    await page.getByText('gzip stream is truncated').waitFor()
    await page.screenshot({ path: path.join(artifacts, 'datasets-detail.png'), fullPage: true })

    await page.locator('nav a[data-view=runs]').click()
    await page.getByRole('cell', { name: 'mengzi-tiny lamb', exact: true }).click() // not the cell of its selection box
    await page.locator('figure.chart canvas').first().waitFor()
    expect(await page.locator('figure.chart').count()).toBe(2) // loss and lr
    await page.screenshot({ path: path.join(artifacts, 'runs-detail.png'), fullPage: true })

    await page.locator('nav a[data-view=compare]').click()
    for (const name of ['mengzi-tiny lamb', 'mengzi-tiny adamw']) await page.getByLabel(name).check()
    await page.locator('figure.chart canvas').first().waitFor()
    await page.screenshot({ path: path.join(artifacts, 'compare-two-runs.png'), fullPage: true })

    await page.locator('nav a[data-view=models]').click()
    await expect(page.getByRole('cell', { name: 'hf-bert-tiny' }).textContent()).resolves.toBe('hf-bert-tiny')
  })

  it('lists the backends on this machine in Settings, and which one auto takes', async () => {
    await page.locator('nav a[data-view=settings]').click()
    const wasm = page.locator('tr[data-backend=wasm]')
    await expect(wasm.textContent({ timeout: 60_000 })).resolves.toMatch(/available/)
    await expect(page.locator('tr[data-backend=tensorflow]').textContent()).resolves.toMatch(/unavailable.*not installed/)
    expect(await page.locator('tr', { hasText: '(auto)' }).count()).toBe(1)
  })

  it('switches to the dark theme and persists it in the engine', async () => {
    await page.locator('nav a[data-view=settings]').click()
    await page.locator('select[name=theme]').selectOption('dark')
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await expect.poll(async () => (await wb.call('settings.get', {})).theme).toBe('dark')
    await page.screenshot({ path: path.join(artifacts, 'settings-dark.png'), fullPage: true })
    await page.locator('nav a[data-view=runs]').click()
    await page.getByRole('heading', { name: 'Runs', level: 1 }).waitFor()
    await page.screenshot({ path: path.join(artifacts, 'runs-dark.png'), fullPage: true })
  })

  it('is keyboard reachable: tab order starts with the skip link, then the views', async () => {
    await page.goto('about:blank')
    await page.goto(`${server.origin}/#/datasets`) // a fresh load; the token stays in the tab's session
    await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor()
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent?.trim())).toBe('Skip to content')
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-view'))).toBe('datasets')
    await page.keyboard.press('Tab')
    await page.keyboard.press('Enter')
    await page.getByRole('heading', { name: 'Tags', level: 1 }).waitFor()
  })

  it('runs under the strict CSP without violations or page errors', () => {
    expect(consoleErrors).toEqual([])
  })
})
