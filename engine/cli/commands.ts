// Every `mengzi` command, in help order. Each file registers one command (or one family).
import type { Command } from 'commander'
import { registerServe } from './serve'
import { registerList } from './list'
import { registerImport } from './import'
import { registerTokenize } from './tokenize'
import { registerVocab } from './vocab'
import { registerModel } from './model'
import { registerModelForward } from './model-forward'
import { registerTrain } from './train'
import { registerBench } from './bench'
import { registerTag } from './tag'
import { registerLaunch } from './launch'
import { registerCompare } from './compare'
import { registerFinetune } from './finetune'
import { registerSweep } from './sweep'
import { registerPredict } from './predict'
import { registerBackends } from './backends'

export const commands: ((program: Command) => void)[] = [
  registerServe,
  registerList,
  registerImport,
  registerTokenize,
  registerTag,
  registerVocab,
  registerModel,
  registerModelForward,
  registerTrain,
  registerFinetune,
  registerSweep,
  registerPredict,
  registerBench,
  registerBackends,
  registerLaunch, // after registerList: adds `runs ingest`
  registerCompare,
]
