// How a run config reads to a person: its objectives and a default name (preset · objectives · lr).
import { activeObjectives, type TrainConfig } from './config'
import { TRAIN_PRESETS } from './presets'

/** The objectives a config trains, in the order the loop computes them. */
export const objectiveNames = (config: TrainConfig): string[] => activeObjectives(config)

/** The preset whose model the config uses, else the model's own size or 'custom'. */
export function presetLabel(config: TrainConfig): string {
  const model = JSON.stringify(config.model)
  const preset = Object.entries(TRAIN_PRESETS).find(([, p]) => JSON.stringify(p.model) === model)
  if (preset) return preset[0]
  if ('preset' in config.model) return config.model.preset
  return 'from' in config.model ? 'continued' : 'custom'
}

/** e.g. "A · mlm+sop · lr 2e-3" */
export function defaultRunName(config: TrainConfig): string {
  const lr = Number(config.learningRate.toExponential(2)).toExponential().replace('e+', 'e').replace(/\.?0+e/, 'e')
  return `${presetLabel(config)} · ${objectiveNames(config).join('+')} · lr ${lr}`
}
