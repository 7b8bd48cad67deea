// A tagging job in its own process, for the resume test to kill: `tsx tag-dataset-child.ts <datasetDir>`.
// Each record's progress waits 2 ms, so the job is still running when the test kills it.
import { BuiltinTagger } from '../../../engine/tagging/builtin'
import { tagDataset } from '../../../engine/tagging/dataset-tags'

const wait = new Int32Array(new SharedArrayBuffer(4))
await tagDataset(process.argv[2], {
  tagger: BuiltinTagger.shared(),
  checkpointRecords: 50,
  onProgress: () => Atomics.wait(wait, 0, 0, 2),
})
