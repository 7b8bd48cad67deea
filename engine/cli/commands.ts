// Every `mengzi` command, in help order. Each file registers one command (or one family).
import type { Command } from 'commander'
import { registerServe } from './serve'
import { registerList } from './list'
import { registerBench } from './bench'
import { registerTokenize } from './tokenize'
import { registerModel } from './model'

export const commands: ((program: Command) => void)[] = [registerServe, registerList, registerTokenize, registerModel, registerBench]
