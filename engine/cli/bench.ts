// `mengzi bench <what>`: the benchmark family. Each benchmark is one file registering itself in
// BENCHMARKS below, so that helpers adding `bench tokenize|tag|import` touch one line here.
import type { Command } from 'commander'
import { registerBenchTag } from './bench-tag'
import { registerBenchTokenize } from './bench-tokenize'
import { registerBenchTrain } from './bench-train'
import { registerBenchImport } from './bench-import'

/** Adds one `bench` subcommand to the `bench` parent command. */
export type BenchRegistration = (bench: Command) => void

export const BENCHMARKS: BenchRegistration[] = [registerBenchTrain, registerBenchTokenize, registerBenchTag, registerBenchImport]

export function registerBench(program: Command): void {
  const bench = program.command('bench').description('time the engine: training steps, tokenizing, tagging, importing')
  for (const register of BENCHMARKS) register(bench)
}
