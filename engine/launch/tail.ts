// Follows a file of JSON lines that another process appends to (the trainer's metrics.jsonl and
// events.jsonl): each poll reads the bytes added since the last, hands over complete lines and keeps a
// partial last line for the next poll. A line that is not JSON is reported, never fatal.
import fs from 'node:fs'

export class JsonLinesTail<T = Record<string, unknown>> {
  private offset = 0
  private partial = ''
  private lineNo = 0

  constructor(
    readonly file: string,
    private readonly onRecord: (record: T) => void,
    private readonly onBadLine: (reason: string) => void = () => {},
  ) {}

  /** Reads what was appended since the last call; returns the number of records handed over. */
  poll(): number {
    let fd: number
    try {
      fd = fs.openSync(this.file, 'r')
    } catch {
      return 0 // not written yet
    }
    let count = 0
    try {
      const size = fs.fstatSync(fd).size
      if (size < this.offset) this.offset = 0 // truncated and rewritten: start over
      if (size === this.offset) return 0
      const bytes = Buffer.alloc(size - this.offset)
      fs.readSync(fd, bytes, 0, bytes.length, this.offset)
      this.offset = size
      const text = this.partial + bytes.toString('utf8')
      const lines = text.split('\n')
      this.partial = lines.pop() ?? ''
      for (const line of lines) {
        this.lineNo++
        if (line.trim() === '') continue
        let record: T
        try {
          record = JSON.parse(line) as T
        } catch {
          this.onBadLine(`${this.file}:${this.lineNo}: not JSON: ${JSON.stringify(line.slice(0, 60))}`)
          continue
        }
        this.onRecord(record)
        count++
      }
    } finally {
      fs.closeSync(fd)
    }
    return count
  }
}
