// Puts the strict Content-Security-Policy into the built index.html. The dev server is left without it
// because Vite's hot reload injects inline styles; Electron's main process also sends the policy as a
// header, and `mengzi serve` does the same.
import type { Plugin } from 'vite'
import { CONTENT_SECURITY_POLICY } from '../engine/server/csp'

// frame-ancestors is ignored (with a console error) in a <meta> policy; the headers carry it.
const metaPolicy = CONTENT_SECURITY_POLICY.split('; ').filter((d) => !d.startsWith('frame-ancestors')).join('; ')

export function cspPlugin(): Plugin {
  return {
    name: 'mengzi-csp',
    apply: 'build',
    transformIndexHtml: (html) =>
      html.replace('<head>', `<head>\n    <meta http-equiv="Content-Security-Policy" content="${metaPolicy}" />`),
  }
}
