// `mengzi serve`: the API and the UI on loopback, for headless machines and browser use.
import type { Command } from 'commander'
import { badInput } from '../errors'
import { ensureUiBuilt } from '../server/build-ui'
import { defaultStaticDir, serve } from '../server/server'
import { openWorkbench, printJson, withCommonOptions, type GlobalOptions } from './common'

interface ServeCliOptions extends GlobalOptions {
  host: string
  port: string
  token?: string
}

export function registerServe(program: Command): void {
  withCommonOptions(
    program
      .command('serve')
      .description('serve the API and the UI on loopback; prints the URL with its token')
      .option('--host <host>', 'address to bind (loopback by default)', '127.0.0.1')
      .option('--port <n>', 'port (0 picks a free one)', '0')
      .option('--token <token>', 'access token (default: a fresh random one)'),
  ).action(async (opts: ServeCliOptions) => {
    const port = Number(opts.port)
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw badInput(`--port: expected 0..65535, got ${JSON.stringify(opts.port)}`)
    if (opts.token !== undefined && opts.token.length < 16) throw badInput('--token: use at least 16 characters')
    // the first serve after `npm install` builds the UI (progress on stderr: stdout stays the URL line)
    await ensureUiBuilt(defaultStaticDir, (line) => process.stderr.write(`${line}\n`)).catch((err: Error) =>
      process.stderr.write(`mengzi: the UI could not be built (${err.message.replace(/\s+/g, ' ').slice(0, 300)}); serving the API only: run \`npm run build\`\n`),
    )
    const wb = openWorkbench(opts)
    const server = await serve(wb, { host: opts.host, port, token: opts.token })
    if (opts.json) printJson({ url: server.url })
    else {
      console.log(`Mengzi Workbench is serving on ${server.origin}`)
      console.log(`Open: ${server.url}`)
      if (!['127.0.0.1', '::1', 'localhost'].includes(opts.host)) {
        console.log(`Warning: bound to ${opts.host}, reachable from other machines (the token still guards the API).`)
      }
    }
    await new Promise<void>((resolve) => {
      const stop = () => resolve()
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
    })
    await server.close()
    await wb.close()
  })
}
