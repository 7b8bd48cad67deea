// The trainer's JSON lines (resources/trainer/train.py), as the workbench reads them back.
import type { MetricValue } from '../train/loop'

/** metrics.jsonl: one line per logged step, `{step, wall_time, loss, lr, grad_norm, tokens_per_sec, ...}`. */
export interface MetricLine {
  step: number
  wall_time: number
  [name: string]: number
}

/** events.jsonl: start, resume, checkpoint, done. */
export type EventLine =
  | { event: 'start'; wall_time: number; torch: string; python: string; world_size: number; device: string; backend: string | null; precision: string; step: number; total: number; parameters: number }
  | { event: 'resume'; wall_time: number; step: number; dir: string; restart: number }
  | { event: 'checkpoint'; wall_time: number; step: number; dir: string }
  | { event: 'done'; wall_time: number; step: number; stopped: boolean; seconds: number; steps: number }

/** A metrics line as metric points (every numeric field but step and wall_time). */
export function metricPoints(line: MetricLine): (MetricValue & { wallTime: number })[] {
  if (!Number.isInteger(line.step)) return []
  return Object.entries(line)
    .filter(([k, v]) => k !== 'step' && k !== 'wall_time' && typeof v === 'number' && Number.isFinite(v))
    .map(([name, value]) => ({ name, step: line.step, value, wallTime: line.wall_time }))
}
