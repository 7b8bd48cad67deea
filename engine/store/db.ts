// The experiment database: one SQLite file in WAL mode. Only engine/store touches SQLite.
import fs from 'node:fs'
import path from 'node:path'
import Database from 'better-sqlite3'
import { WorkbenchError } from '../errors'
import { migrations } from './migrations'

export type Db = Database.Database

export interface OpenOptions {
  /**
   * Path to a better_sqlite3.node built for the running ABI. Node (CLI, tests) uses the one npm built;
   * Electron passes the one `npm run rebuild:electron` writes under resources/native/electron/.
   */
  nativeBinding?: string
  readonly?: boolean
}

export const SCHEMA_VERSION = migrations.length

export function openDatabase(file: string, options: OpenOptions = {}): Db {
  let db: Db
  try {
    if (file !== ':memory:' && !options.readonly) fs.mkdirSync(path.dirname(file), { recursive: true })
    db = new Database(file, {
      nativeBinding: options.nativeBinding ?? process.env.MENGZI_SQLITE_BINDING,
      readonly: options.readonly ?? false,
      fileMustExist: options.readonly ?? false,
    })
  } catch (err) {
    throw new WorkbenchError('UNAVAILABLE', `cannot open the database ${file}: ${(err as Error).message}`)
  }
  if (!options.readonly) db.pragma('journal_mode = WAL')
  db.pragma('foreign_keys = ON')
  db.pragma('busy_timeout = 5000')
  db.pragma('synchronous = NORMAL')
  if (!options.readonly) migrate(db)
  return db
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** Apply every migration above the database's version, each in its own transaction. */
export function migrate(db: Db, target = SCHEMA_VERSION): number {
  let version = schemaVersion(db)
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `database schema version ${version} is newer than this Mengzi Workbench supports (${SCHEMA_VERSION}); update the app`,
    )
  }
  if (version >= target) return version
  // Foreign keys stay off while migrating (the pragma is a no-op inside a transaction): a migration that
  // rebuilds a table (SQLite cannot alter a CHECK) must not cascade the DROP onto the rows that point
  // at it. foreign_key_check below verifies the result, only then: it reads every row of every table
  // with a foreign key (seconds on a database of millions of metric points), and with foreign keys on
  // nothing else can break them.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number
  db.pragma('foreign_keys = OFF')
  try {
    while (version < target) {
      const sql = migrations[version]
      db.transaction(() => {
        db.exec(sql)
        db.pragma(`user_version = ${version + 1}`)
      })()
      version++
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`)
  }
  const problems = db.pragma('foreign_key_check') as unknown[]
  if (problems.length > 0) throw new Error(`database has ${problems.length} broken foreign keys after migration`)
  return version
}
