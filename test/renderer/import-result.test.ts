// @vitest-environment happy-dom
// The Datasets view's import result shows what cleaning removed and how records were separated, from a
// real import of a colour-coded fortune file.
import fs from 'node:fs'
import path from 'node:path'
import { mount } from '@vue/test-utils'
import { afterAll, describe, expect, it } from 'vitest'
import { importCorpus } from '../../engine/data/import'
import { dataLayout } from '../../engine/paths'
import { openDatabase } from '../../engine/store/db'
import DatasetsViewImportResult from '../../renderer/src/components/DatasetsViewImportResult.vue'
import { repoRoot, tempDir } from '../helpers'

const tmp = tempDir()
afterAll(() => tmp.cleanup())

describe('DatasetsViewImportResult', () => {
  it('says how many escape sequences were removed and that entries were split at % lines', async () => {
    const layout = dataLayout(tmp.dir)
    const db = openDatabase(layout.database)
    const file = path.join(repoRoot, 'test/fixtures/import/fortunes-tang300.txt')
    const escapes = fs.readFileSync(file, 'utf8').split('\u001b').length - 1
    try {
      const r = await importCorpus([file], { dedup: 'none' }, { db, layout })
      const outcome = JSON.parse(JSON.stringify({ dataset: r.dataset, files: r.files })) // as it crosses the API
      const w = mount(DatasetsViewImportResult, { props: { outcome } })
      expect(w.text()).toContain(`cleaned ${escapes} terminal escape sequences, 0 control characters`)
      expect(w.text()).toContain('records between “%” lines')
      expect(w.get('h2').text()).toBe(`Imported “fortunes-tang300”: ${r.files[0].records} records`)
    } finally {
      db.close()
    }
  })
})
