// Small CLUE-shaped datasets for the fine-tuning tests, imported through the real importer. The signal is
// learnable: a TNEWS label says which word family a sentence holds.
import fs from 'node:fs'
import path from 'node:path'
import { importCorpus } from '../../../engine/data/import'
import { dataLayout } from '../../../engine/paths'
import { openDatabase } from '../../../engine/store/db'
import { Rng } from '../../../engine/compute/rng'

export const START_MODEL = path.resolve(__dirname, '../../fixtures/torch-bin/safetensors')

const FILLER = [...'我你他们的了是在有这个人来到说就会要也和中大上为国地到以时年出于就生']
const FAMILIES: Record<string, string[]> = { '100': [...'山石林木'], '101': [...'水海河湖'], '102': [...'日月星云'] }

export function tnewsRecords(n: number, seed: number, labels = ['100', '101']) {
  const rng = new Rng(seed)
  return Array.from({ length: n }, (_, i) => {
    const label = labels[rng.int(labels.length)]
    const chars = Array.from({ length: 8 }, () => FILLER[rng.int(FILLER.length)])
    const fam = FAMILIES[label]
    chars.splice(rng.int(9), 0, fam[rng.int(fam.length)], fam[rng.int(fam.length)])
    return { label, label_desc: `news_${label}`, sentence: chars.join(''), keywords: '', id: i }
  })
}

/** Writes split files into `dir/src/<name>/` and imports them; returns the dataset folder and id. */
export async function importClue(home: string, name: string, files: Record<string, unknown[]>, asArray = false) {
  const src = path.join(home, 'src', name)
  fs.mkdirSync(src, { recursive: true })
  for (const [file, items] of Object.entries(files)) {
    fs.writeFileSync(path.join(src, file), asArray ? JSON.stringify(items) : items.map((x) => JSON.stringify(x)).join('\n'))
  }
  const layout = dataLayout(home)
  const db = openDatabase(layout.database)
  try {
    const r = await importCorpus([src], { name, dedup: 'none' }, { db, layout })
    if (!r.dataset) throw new Error(`import failed: ${JSON.stringify(r.files)}`)
    return { dir: r.dataset.dir, id: r.dataset.id }
  } finally {
    db.close()
  }
}

/**
 * A tiny random BERT folder (hf-bert-tiny's vocab) with a wide init (std `std`): with HF's 0.02 a model
 * this small needs hundreds of steps before attention carries anything, which a unit test cannot afford.
 */
export async function wideInitModel(dir: string, std = 0.2, hidden = 32): Promise<string> {
  const { initialValue, parameterShapes } = await import('../../../engine/model/weights')
  const { checkpointFromTensors, writeHfCheckpoint } = await import('../../../engine/model/hf-checkpoint')
  const vocab = fs.readFileSync(path.resolve(__dirname, '../../fixtures/hf-bert-tiny/vocab.txt'), 'utf8').split('\n').filter(Boolean)
  const config = { vocab_size: vocab.length, hidden_size: hidden, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 2 * hidden, hidden_act: 'gelu' as const, hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1, max_position_embeddings: 64, type_vocab_size: 2, initializer_range: std, layer_norm_eps: 1e-12, pad_token_id: 0, position_embedding_type: 'absolute' as const, tie_word_embeddings: true }
  const rng = new Rng(11)
  const tensors = new Map([...parameterShapes({ config, heads: [], pooler: true })].map(([name, shape]) => [name, { shape, data: initialValue(name, shape, config, rng) }]))
  await writeHfCheckpoint(dir, checkpointFromTensors(config, vocab, true, tensors))
  return dir
}
