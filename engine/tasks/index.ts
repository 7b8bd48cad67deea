// CLUE task processing between the model and the training loop: examples, input packing, metrics and
// submission files. The loop (engine/train/finetune.ts) only sees these functions.
export * from './spec'
export * from './examples'
export * from './pack'
export * from './metrics'
export * from './submission'
