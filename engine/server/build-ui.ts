// `mengzi serve` right after `npm install`: the renderer is not built yet (out/renderer is a build output),
// so the first serve builds it once, with the project's own electron-vite config, renderer only (seconds),
// into a side folder renamed into place so that two servers starting at once cannot serve half a build.
// electron-vite and vite are development dependencies: where they are missing the API still serves and
// the page says how to build the UI.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export function uiBuilt(staticDir: string): boolean {
  return fs.existsSync(path.join(staticDir, 'index.html'))
}

/** Builds the renderer into `staticDir` unless it is there; `log` gets one line before and one after. */
export async function ensureUiBuilt(staticDir: string, log: (line: string) => void): Promise<void> {
  if (uiBuilt(staticDir)) return
  log(`Building the UI once (electron-vite, renderer only) into ${path.relative(process.cwd(), staticDir) || staticDir} …`)
  const started = Date.now()
  const { resolveConfig } = await import('electron-vite')
  const { build } = await import('vite')
  const side = `${staticDir}.building-${process.pid}`
  // the config resolves its paths against the working directory, as `npm run build` runs it
  const cwd = process.cwd()
  process.chdir(repoRoot)
  try {
    const { config } = await resolveConfig({ root: repoRoot, configFile: path.join(repoRoot, 'electron.vite.config.ts'), logLevel: 'warn' }, 'build', 'production')
    const renderer = config?.renderer
    if (!renderer) throw new Error('electron.vite.config.ts has no renderer section')
    await build({ ...renderer, logLevel: 'error', build: { ...renderer.build, outDir: side, emptyOutDir: true } })
    fs.mkdirSync(path.dirname(staticDir), { recursive: true })
    if (!uiBuilt(staticDir)) {
      fs.rmSync(staticDir, { recursive: true, force: true }) // an empty or partial folder, never a build
      fs.renameSync(side, staticDir)
    }
  } finally {
    process.chdir(cwd)
    fs.rmSync(side, { recursive: true, force: true })
  }
  log(`UI built in ${((Date.now() - started) / 1000).toFixed(1)} s.`)
}
