// A long-lived worker thread for tag previews: the taggers (jieba's dictionary, LAC's weights) load once
// here and stay loaded, and tagging never runs on the thread that answers the API (in the desktop app, the
// Electron main process). Requests {id, text, choice} are answered with {id, result} or {id, error}.
import { parentPort } from 'node:worker_threads'
import { toErrorPayload } from '../errors'
import { previewTags } from '../tagging/preview'
import type { PreviewRequest, PreviewReply } from './tagger-client'

parentPort!.on('message', async ({ id, text, choice }: PreviewRequest) => {
  let reply: PreviewReply
  try {
    reply = { id, result: await previewTags(text, choice) }
  } catch (err) {
    reply = { id, error: toErrorPayload(err) }
  }
  parentPort!.postMessage(reply)
})
