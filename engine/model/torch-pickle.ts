// A restricted reader for the pickles inside PyTorch's checkpoint files (data.pkl of torch.save's zip
// format). It interprets the opcodes a state dict uses — containers, numbers, strings, memo, REDUCE,
// BUILD, persistent ids — and resolves a global only through `resolve`, which the caller limits to
// what a state dict holds (OrderedDict, the tensor rebuild functions, storage types). Nothing is ever
// imported or executed: an unknown global, an unknown opcode or a call of anything but an allowed
// function is refused with one line naming it.
import { unsupported } from '../errors'

/** A global the pickle refers to, resolved by the caller to a plain function of its arguments. */
export type Callable = (...args: unknown[]) => unknown

export interface UnpickleHooks {
  /** module.name → an allowed callable; anything else must throw. */
  resolve(module: string, name: string): Callable
  /** BINPERSID: the persistent id tuple (torch: ('storage', type, key, location, numel)). */
  persistentLoad(pid: unknown): unknown
  /** BUILD on an object: set its state (torch: an OrderedDict's _metadata); may ignore it. */
  build?(obj: unknown, state: unknown): unknown
}

const MARK = Symbol('mark')

export function unpickle(buf: Uint8Array, hooks: UnpickleHooks, source = 'pickle'): unknown {
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  const text = new TextDecoder('utf-8', { fatal: true })
  const stack: unknown[] = []
  const memo = new Map<number, unknown>()
  let pos = 0
  const fail = (why: string): never => {
    throw unsupported(`${source}: ${why} at byte ${pos}; refused (only PyTorch state dicts of tensors are read)`)
  }
  const need = (n: number) => (pos + n <= buf.length ? undefined : fail('truncated pickle'))
  const u8 = () => (need(1), buf[pos++])
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true))
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true))
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true))
  const bytes = (n: number) => (need(n), (pos += n), buf.subarray(pos - n, pos))
  const line = () => {
    const end = buf.indexOf(0x0a, pos)
    if (end < 0) fail('unterminated text line')
    const s = new TextDecoder('latin1').decode(buf.subarray(pos, end))
    pos = end + 1
    return s
  }
  const pop = () => (stack.length === 0 ? fail('stack underflow') : stack.pop())
  const popMark = (): unknown[] => {
    const at = stack.lastIndexOf(MARK)
    if (at < 0) fail('no MARK on the stack')
    const items = stack.splice(at)
    items.shift()
    return items
  }
  const top = () => (stack.length === 0 ? fail('stack underflow') : stack[stack.length - 1])
  const asDict = (d: unknown) => (d instanceof Map ? d : fail('SETITEM on something that is not a dict'))

  for (;;) {
    const at = pos
    const op = u8()
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5')
        break
      case 0x95: // FRAME (protocol 4): a length to skip, the opcodes follow inline
        bytes(8)
        break
      case 0x2e: // STOP
        return pop()
      case 0x28: // MARK
        stack.push(MARK)
        break
      case 0x7d: // EMPTY_DICT
        stack.push(new Map())
        break
      case 0x5d: // EMPTY_LIST
        stack.push([])
        break
      case 0x29: // EMPTY_TUPLE
        stack.push(Object.freeze([]))
        break
      case 0x74: // TUPLE
        stack.push(Object.freeze(popMark()))
        break
      case 0x85: // TUPLE1
        stack.push(Object.freeze([pop()]))
        break
      case 0x86: {
        // TUPLE2
        const b = pop()
        stack.push(Object.freeze([pop(), b]))
        break
      }
      case 0x87: {
        // TUPLE3
        const c = pop()
        const b = pop()
        stack.push(Object.freeze([pop(), b, c]))
        break
      }
      case 0x6c: // LIST
        stack.push(popMark())
        break
      case 0x64: {
        // DICT
        const items = popMark()
        const d = new Map()
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1])
        stack.push(d)
        break
      }
      case 0x61: {
        // APPEND
        const v = pop()
        const l = top()
        if (!Array.isArray(l) || Object.isFrozen(l)) fail('APPEND to something that is not a list')
        ;(l as unknown[]).push(v)
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        const l = top()
        if (!Array.isArray(l) || Object.isFrozen(l)) fail('APPENDS to something that is not a list')
        ;(l as unknown[]).push(...items)
        break
      }
      case 0x73: {
        // SETITEM
        const v = pop()
        const k = pop()
        asDict(top()).set(k, v)
        break
      }
      case 0x75: {
        // SETITEMS
        const items = popMark()
        const d = asDict(top())
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1])
        break
      }
      case 0x4e: // NONE
        stack.push(null)
        break
      case 0x88: // NEWTRUE
        stack.push(true)
        break
      case 0x89: // NEWFALSE
        stack.push(false)
        break
      case 0x4b: // BININT1
        stack.push(u8())
        break
      case 0x4d: // BININT2
        stack.push(u16())
        break
      case 0x4a: // BININT
        stack.push(i32())
        break
      case 0x8a: {
        // LONG1: little-endian two's complement of n bytes
        const n = u8()
        const b = bytes(n)
        let v = 0n
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i])
        if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n)
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail('an integer beyond 2^53')
        stack.push(Number(v))
        break
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8)
        stack.push(view.getFloat64(pos, false))
        pos += 8
        break
      case 0x58: // BINUNICODE
        stack.push(text.decode(bytes(u32())))
        break
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(bytes(u8())))
        break
      case 0x43: // SHORT_BINBYTES
        stack.push(bytes(u8()).slice())
        break
      case 0x71: // BINPUT
        memo.set(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top())
        break
      case 0x94: // MEMOIZE
        memo.set(memo.size, top())
        break
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32()
        if (!memo.has(k)) fail(`memo ${k} is not set`)
        stack.push(memo.get(k))
        break
      }
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line()
        stack.push(hooks.resolve(module, line()))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL without strings')
        stack.push(hooks.resolve(module as string, name as string))
        break
      }
      case 0x52: {
        // REDUCE: call an allowed callable with a tuple of arguments
        const args = pop()
        const fn = pop()
        if (typeof fn !== 'function') fail('REDUCE of something that is not an allowed callable')
        if (!Array.isArray(args)) fail('REDUCE with arguments that are not a tuple')
        stack.push((fn as Callable)(...(args as unknown[])))
        break
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()))
        break
      case 0x62: {
        // BUILD
        const state = pop()
        const obj = pop()
        stack.push(hooks.build ? hooks.build(obj, state) : obj)
        break
      }
      default:
        pos = at
        fail(`opcode 0x${op.toString(16).padStart(2, '0')} is not allowed`)
    }
  }
}
