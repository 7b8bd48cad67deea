// How this thread waits for the GPU. Dawn's Node binding (the webgpu package) learns that work has
// finished by polling: while any of its promises is pending (a buffer mapping such as a loss read,
// onSubmittedWorkDone, an error scope), its AsyncRunner calls the global setImmediate with a new native
// function that ticks the device and queues itself again. That loop keeps a core busy for the whole of
// every wait and allocates a function per tick. Where the "GPU" is the CPU (lavapipe) it takes a core
// from the device's own threads: on 2 cores a config A step took 3,247 ms with the loop and 1,870 ms with
// the ticks below (README). So the global setImmediate is replaced once per thread: JavaScript callers
// pass straight through, and Dawn's ticks run as Dawn queues them for the first SPIN_MS of a wait, then
// once per millisecond (a timer; Node's finest). That is the default ('auto') on a software adapter; a
// hardware one keeps Dawn's loop (a wait there may otherwise end a millisecond late, which a loop that
// reads each batch before recording the next pays in full) until a GPU has timed both (the GPU script's
// "yield" column). MENGZI_WEBGPU_WAIT=yield or spin sets it for a process; spinWhile() keeps Dawn's loop
// while the tuner times a kernel by the wall clock, where a late tick would count.

/** 'yield': tick once per millisecond after SPIN_MS of a wait; 'spin': Dawn's own loop; 'auto': yield on a software adapter. */
export type DawnWait = 'auto' | 'yield' | 'spin'

/** How long a wait polls as Dawn does before it ticks by the timer: short reads return as fast as before. */
export const SPIN_MS = 1
/** A tick this long after the last one starts a new wait (ticks by the timer come about 1 ms apart). */
const NEW_WAIT_MS = 2.5

let wait: DawnWait = 'auto'
// whether the device this thread opened is a software one (start.ts): until then, waits spin as Dawn's do
let softwareDevice = false
let spinners = 0
let installed = false
let lastTick = -Infinity
let waitStart = 0
const counts = { immediate: 0, timed: 0 }

/** MENGZI_WEBGPU_WAIT's value; a one-line reason for anything else. */
export function dawnWaitFromEnv(text: string | undefined): DawnWait {
  if (text === undefined || text === '' || text === 'auto') return 'auto'
  if (text === 'yield' || text === 'spin') return text
  throw new Error(`MENGZI_WEBGPU_WAIT: expected auto (yield on a software adapter, spin on a GPU), yield (tick once per millisecond while waiting) or spin (Dawn's busy loop); got "${text}"`)
}

/** Sets how waits tick; returns the previous setting. */
export function setDawnWait(setting: DawnWait): DawnWait {
  const previous = wait
  wait = setting
  return previous
}

export function dawnWaitSetting(): DawnWait {
  return wait
}

/** How waits tick with `setting` on a software adapter or a hardware one. */
export function effectiveWait(setting: DawnWait, software: boolean): 'yield' | 'spin' {
  return setting === 'auto' ? (software ? 'yield' : 'spin') : setting
}

/** Tells the ticks whether this thread's device is a software adapter (start.ts, as it opens one). */
export function setWaitingOnSoftware(software: boolean): void {
  softwareDevice = software
}

/** How waits tick now, on this thread's device. */
export function dawnWaitNow(): 'yield' | 'spin' {
  return effectiveWait(wait, softwareDevice)
}

/** Dawn's ticks since the thread started (or the last reset): as Dawn queued them, and by the timer. */
export function dawnTicks(): { immediate: number; timed: number } {
  return { ...counts }
}

export function resetDawnTicks(): void {
  counts.immediate = 0
  counts.timed = 0
}

/** Runs `body` with Dawn's own loop, so that a wait it times ends as soon as the device is done. */
export async function spinWhile<T>(body: () => Promise<T>): Promise<T> {
  spinners++
  try {
    return await body()
  } finally {
    spinners--
  }
}

/** Dawn's tick: a function made in C++ (Napi::Function::New), unnamed; a bound function is named "bound …". */
function isDawnTick(fn: unknown): boolean {
  return typeof fn === 'function' && fn.name === '' && Function.prototype.toString.call(fn).endsWith('{ [native code] }')
}

/** Replaces this thread's global setImmediate (once), before Dawn's first wait. */
export function installDawnTicks(): void {
  if (installed) return
  installed = true
  const immediate = globalThis.setImmediate
  const gentle = function setImmediate(callback: (...args: unknown[]) => void, ...args: unknown[]) {
    if (!isDawnTick(callback)) return immediate(callback, ...args)
    const now = performance.now()
    if (now - lastTick > NEW_WAIT_MS) waitStart = now
    lastTick = now
    if (spinners > 0 || now - waitStart < SPIN_MS || dawnWaitNow() === 'spin') {
      counts.immediate++
      return immediate(callback, ...args)
    }
    counts.timed++
    return setTimeout(callback, 1, ...args) as unknown as NodeJS.Immediate
  }
  // util.promisify(setImmediate) and the like still find the original's custom form
  Object.assign(gentle, immediate)
  globalThis.setImmediate = gentle as typeof globalThis.setImmediate
}
