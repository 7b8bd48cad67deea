// Where dropped files live. Inside the desktop app the preload resolves each File to its path; a browser
// tab on `mengzi serve` only sees what the file manager put on the drag: file:// URIs, or a typed path.
import type { DesktopApi } from '../../../preload/contract'

export function droppedPaths(data: DataTransfer, desktop: DesktopApi | null): string[] {
  if (desktop && data.files.length > 0) return [...data.files].map((f) => desktop.pathForFile(f)).filter((p) => p !== '')
  const uris = data
    .getData('text/uri-list')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('file://'))
    .map((uri) => decodeURIComponent(new URL(uri).pathname))
  if (uris.length > 0) return uris
  const text = data.getData('text/plain').trim()
  return text.startsWith('/') || /^[A-Za-z]:[\\/]/.test(text) ? [text] : []
}
