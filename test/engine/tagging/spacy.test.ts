import fs from 'node:fs'
import { describe, expect, it } from 'vitest'
import { WorkbenchError } from '../../../engine/errors'
import { SpacyTagger } from '../../../engine/tagging/spacy'

// These run the real script with real interpreters. This machine's Debian Python has no spaCy, which is the
// case the workbench must explain; the test checks that assumption instead of silently passing.
const DEBIAN_PYTHON = '/usr/bin/python3'

async function failure(tagger: SpacyTagger): Promise<WorkbenchError> {
  try {
    await tagger.tag(['我爱北京天安门'])
  } catch (err) {
    return err as WorkbenchError
  } finally {
    await tagger.close()
  }
  throw new Error('the spaCy tagger answered; expected it to be unavailable')
}

describe('spaCy subprocess tagger', () => {
  it('is UNAVAILABLE with a how-to when the Python does not exist', async () => {
    const err = await failure(new SpacyTagger({ python: '/nonexistent/bin/python3' }))
    expect(err).toBeInstanceOf(WorkbenchError)
    expect(err.code).toBe('UNAVAILABLE')
    expect(err.message).toContain('/nonexistent/bin/python3')
    expect(err.message).toContain('ENOENT')
    expect(err.message).toContain('pip install spacy')
    expect(err.message).not.toContain('\n')
  })

  it.runIf(fs.existsSync(DEBIAN_PYTHON))('reports a Python without spaCy cleanly, through the real script', async () => {
    const err = await failure(new SpacyTagger({ python: DEBIAN_PYTHON }))
    expect(err.code).toBe('UNAVAILABLE')
    expect(err.message).toContain("No module named 'spacy'")
    expect(err.message).toContain(DEBIAN_PYTHON)
    expect(err.message).toContain('zh_core_web_sm')
  })
})
