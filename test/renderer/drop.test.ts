// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { droppedPaths } from '../../renderer/src/api/drop'
import type { DesktopApi } from '../../preload/contract'

function transfer(items: Record<string, string>, files: File[] = []): DataTransfer {
  const data = new DataTransfer()
  for (const [type, value] of Object.entries(items)) data.setData(type, value)
  for (const f of files) data.items.add(f)
  return data
}

describe('droppedPaths', () => {
  it('reads file:// URIs a browser tab receives, decoding non-ASCII names', () => {
    const data = transfer({ 'text/uri-list': 'file:///corpus/%E5%94%90%E8%AF%97.txt\r\n# comment\r\nfile:///corpus/b.jsonl\nhttps://example.com/x' })
    expect(droppedPaths(data, null)).toEqual(['/corpus/唐诗.txt', '/corpus/b.jsonl'])
  })

  it('takes a typed absolute path, and nothing else', () => {
    expect(droppedPaths(transfer({ 'text/plain': ' /data/wiki.txt.gz ' }), null)).toEqual(['/data/wiki.txt.gz'])
    expect(droppedPaths(transfer({ 'text/plain': 'C:\\corpus\\a.txt' }), null)).toEqual(['C:\\corpus\\a.txt'])
    expect(droppedPaths(transfer({ 'text/plain': 'just some words' }), null)).toEqual([])
  })

  it('asks the desktop bridge for the path of each dropped file', () => {
    // the preload's webUtils.getPathForFile, which only exists inside Electron
    const desktop = { pathForFile: (f: File) => (f.name === 'virtual' ? '' : `/home/me/${f.name}`) } as DesktopApi
    const files = [new File(['a'], 'a.txt'), new File(['b'], 'virtual'), new File(['c'], 'c.csv')]
    const data = transfer({}, files)
    expect(data.files).toHaveLength(3)
    expect(droppedPaths(data, desktop)).toEqual(['/home/me/a.txt', '/home/me/c.csv'])
  })
})
