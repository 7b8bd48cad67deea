// A seeded random number generator whose whole state is four 32-bit words, so that it can be saved
// in a checkpoint and restored to continue the exact same sequence. The generator is sfc32 (Chris
// Doty-Humphrey's Small Fast Counting generator), seeded through splitmix32.

export interface RngState {
  sfc32: [number, number, number, number]
}

export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number | RngState) {
    if (typeof seed === 'number') {
      let s = seed >>> 0
      const next = () => {
        s = (s + 0x9e3779b9) >>> 0
        let z = s
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
        return (z ^ (z >>> 16)) >>> 0
      }
      this.a = next()
      this.b = next()
      this.c = next()
      this.d = next()
      for (let i = 0; i < 12; i++) this.nextUint32() // mix away the seeding pattern
    } else {
      const s = seed.sfc32
      if (!Array.isArray(s) || s.length !== 4 || !s.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) {
        throw new Error(`RNG state must be four uint32 words, got ${JSON.stringify(seed)}`)
      }
      ;[this.a, this.b, this.c, this.d] = s
    }
  }

  state(): RngState {
    return { sfc32: [this.a, this.b, this.c, this.d] }
  }

  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    this.a >>>= 0
    this.b >>>= 0
    this.c >>>= 0
    this.d >>>= 0
    return t >>> 0
  }

  /** Uniform in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!(n >= 1 && n <= 0x100000000 && Number.isInteger(n))) throw new Error(`Rng.int(n) needs an integer 1 ≤ n ≤ 2^32, got ${n}`)
    const limit = 0x100000000 - (0x100000000 % n)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % n
    }
  }

  /** Fills `out` with normal(0, std) samples (Box–Muller, both outputs used). */
  fillNormal(out: Float32Array, std: number): Float32Array {
    for (let i = 0; i < out.length; i += 2) {
      const u1 = 1 - this.next() // (0, 1]: log is finite
      const u2 = this.next()
      const r = Math.sqrt(-2 * Math.log(u1)) * std
      out[i] = r * Math.cos(2 * Math.PI * u2)
      if (i + 1 < out.length) out[i + 1] = r * Math.sin(2 * Math.PI * u2)
    }
    return out
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T>(items: T[] | Int32Array): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1)
      const t = items[i]
      items[i] = items[j]
      items[j] = t
    }
  }
}
