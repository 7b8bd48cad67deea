// The loopback server of compare-ui.ts, in a process of its own, as the app's engine has one (the Electron
// main process). In the benchmark's own process it shared an event loop with the Playwright client, which
// receives every WebSocket frame the page gets (CDP, as base64 JSON): ~60 ms of parsing per first open,
// taken from the server's turns and counted in the page's wait.
//
// Forked by compare-ui.ts with `home database [--profile]`; messages from the parent: warm (every series of
// `runIds` × `metrics` read into memory), mark (start the request log), log (send it), rss, close.
import path from 'node:path'
import { serve } from '../../engine/server/server'
import { Workbench } from '../../engine/service/workbench'
import { repoRoot } from '../helpers'

type Message = { type: 'warm'; runIds: number[]; metrics: string[] } | { type: 'mark' | 'log' | 'rss' | 'close' }

const [home, database, flag] = process.argv.slice(2)
const send = (m: Record<string, unknown>) => process.send!(m)

const wb = new Workbench({ home, database })
// --profile: the server's time per request, from the mark
const requests: string[] = []
let t0 = 0
if (flag === '--profile') {
  const dispatch = wb.dispatch.bind(wb)
  wb.dispatch = (async (method: string, input: unknown) => {
    const t = performance.now()
    try {
      return await dispatch(method, input)
    } finally {
      if (t0) requests.push(`${method} ${(t - t0).toFixed(0)}→${(performance.now() - t0).toFixed(0)} ms`)
    }
  }) as typeof wb.dispatch
}
const server = await serve(wb, { staticDir: path.join(repoRoot, 'out', 'renderer') })

process.on('message', async (m: Message) => {
  if (m.type === 'warm') {
    for (const metric of m.metrics) await wb.call('compare.series', { runIds: m.runIds, metric, width: 8, range: [-1e15, 1e15] })
    send({ type: 'warm' })
  } else if (m.type === 'mark') {
    t0 = performance.now()
    requests.length = 0
    send({ type: 'mark' })
  } else if (m.type === 'log') send({ type: 'log', lines: requests })
  else if (m.type === 'rss') send({ type: 'rss', bytes: process.memoryUsage().rss })
  else if (m.type === 'close') {
    await server.close()
    await wb.close()
    send({ type: 'close' })
    process.disconnect()
  }
})
send({ type: 'ready', url: server.url })
