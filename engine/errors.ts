// Errors a user can act on. `code` is stable (scripts and the UI may switch on it); the message is
// one line that names the file/line/field at fault and quotes the offending value.
export type ErrorCode =
  | 'BAD_INPUT' // a malformed request, argument or field
  | 'NOT_FOUND' // an id, file or directory that does not exist
  | 'UNSUPPORTED' // a format, dtype, option or model type we refuse on purpose
  | 'CORRUPT' // a file whose bytes contradict its own header or format
  | 'CANCELLED' // the user cancelled a job
  | 'CONFLICT' // the operation contradicts stored state (duplicate name, run already running)
  | 'UNAVAILABLE' // an optional capability (backend, spaCy, GPU) is not present on this machine

export class WorkbenchError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'WorkbenchError'
    this.code = code
  }
}

export const badInput = (msg: string) => new WorkbenchError('BAD_INPUT', msg)
export const notFound = (msg: string) => new WorkbenchError('NOT_FOUND', msg)
export const unsupported = (msg: string) => new WorkbenchError('UNSUPPORTED', msg)
export const corrupt = (msg: string) => new WorkbenchError('CORRUPT', msg)

/** A JSON-safe error for crossing the API boundary. */
export function toErrorPayload(err: unknown): { code: ErrorCode | 'INTERNAL'; message: string } {
  if (err instanceof WorkbenchError) return { code: err.code, message: err.message }
  const message = err instanceof Error ? err.message : String(err)
  return { code: 'INTERNAL', message: message.split('\n')[0] }
}
