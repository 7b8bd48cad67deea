// Importing corpora through the UI: a synthetic drop of real files onto the Datasets view starts a real
// import job in the engine; progress, the per-file table, statistics and the sample browser follow.
import path from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Workbench } from '../../engine/service/workbench'
import { repoRoot } from '../helpers'
import { artifacts, openApp, type AppSession } from './browser'

let app: AppSession
let wb: Workbench
let page: Page
const fixtures = path.join(repoRoot, 'test', 'fixtures', 'import')

beforeAll(async () => {
  app = await openApp()
  ;({ wb, page } = app)
  await page.goto(app.server.url)
  await page.getByRole('heading', { name: 'Datasets', level: 1 }).waitFor()
})
afterAll(() => app?.close())

/** Drops files the way a file manager does in a browser tab: as file:// URIs. */
async function dropFiles(files: string[]): Promise<void> {
  const uris = files.map((f) => `file://${encodeURI(f)}`).join('\n')
  await page.locator('[data-drop=datasets]').evaluate((zone, list) => {
    const data = new DataTransfer()
    data.setData('text/uri-list', list)
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }))
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
  }, uris)
}

describe('Datasets view in Chromium', () => {
  it('imports dropped corpora and shows the per-file result, including a failure', async () => {
    await page.getByText('Import options').click()
    await page.locator('input[name=name]').fill('唐诗 and paragraphs')
    const missing = path.join(app.wb.layout.home, 'no-such-file.txt')
    await dropFiles([path.join(fixtures, 'poems.txt'), path.join(fixtures, 'paragraphs.txt'), missing])
    const result = page.getByRole('region', { name: 'Import result' })
    await result.waitFor({ timeout: 60_000 })
    await expect(result.locator('h2').textContent()).resolves.toContain('唐诗 and paragraphs')
    const rows = result.locator('tbody tr')
    expect(await rows.count()).toBe(3)
    await expect(rows.filter({ hasText: 'poems.txt' }).locator('td').nth(1).textContent()).resolves.toBe('imported')
    await expect(rows.filter({ hasText: 'no-such-file.txt' }).locator('td').nth(1).textContent()).resolves.toBe('failed')
    await page.screenshot({ path: path.join(artifacts, 'datasets-import.png'), fullPage: true })

    const [dataset] = await wb.call('datasets.list', {})
    expect(dataset.name).toBe('唐诗 and paragraphs')
  })

  it('shows statistics charts and browses, searches and jumps in the samples', async () => {
    await page.getByRole('cell', { name: '唐诗 and paragraphs' }).click()
    const detail = page.getByRole('region', { name: 'Dataset detail' })
    await detail.locator('figure.chart canvas').first().waitFor()
    await expect(detail.locator('.stats').textContent()).resolves.toMatch(/Documents/)
    await page.locator('input[name=sampleQuery]').fill('杜甫')
    await page.getByRole('button', { name: 'Search' }).click()
    await expect.poll(async () => (await detail.locator('.samples li').allTextContents()).every((t) => t.includes('杜甫'))).toBe(true)
    expect(await detail.locator('.samples li').count()).toBeGreaterThan(0)
    await page.locator('input[name=sampleQuery]').fill('')
    await page.locator('input[name=jump]').fill('5')
    await page.getByRole('button', { name: 'Go' }).click()
    await expect.poll(() => detail.locator('.samples li .line-no').first().textContent()).toBe('5')
    await page.screenshot({ path: path.join(artifacts, 'datasets-stats-samples.png'), fullPage: true })
  })

  it('renames and deletes a dataset', async () => {
    const [dataset] = await wb.call('datasets.list', {})
    await page.locator('input[name=datasetName]').fill('poems')
    await page.getByRole('button', { name: 'Rename' }).click()
    await expect.poll(async () => (await wb.call('datasets.get', { id: dataset.id })).name).toBe('poems')
    await page.getByRole('button', { name: 'Delete…' }).click()
    await page.getByRole('button', { name: /Delete “poems”/ }).click()
    await expect.poll(async () => (await wb.call('datasets.list', {})).length).toBe(0)
    await page.getByText('No datasets yet').waitFor()
  })
})
