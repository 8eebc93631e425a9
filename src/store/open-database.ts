import { closeSync, existsSync, openSync, readSync, renameSync, statSync } from 'node:fs'
import type BetterSqlite3 from 'better-sqlite3'
import Database from 'better-sqlite3'
import { ERR, FloxgateError } from '../errors.js'
import { migrate, SCHEMA_VERSION, schemaVersion } from './schema.js'
import type { Durability } from './types.js'

export interface OpenDatabaseOptions {
  readonly file: string
  readonly durability?: Durability
  /** Path of better_sqlite3.node (the single executable extracts it from its assets). */
  readonly nativeBinding?: string
  readonly readonly?: boolean
  /**
   * `quick` (default) reads every page once at open to find torn or truncated pages
   * before the daemon relies on them; `none` skips it (for a huge file on a slow card).
   */
  readonly integrityCheck?: 'quick' | 'none'
}

const MAGIC = Buffer.from('SQLite format 3\u0000', 'latin1')
/** Small pages: a batch rewrites fewer bytes of partly filled pages (see docs/storage.md). */
const PAGE_SIZE = 1024
/** After a checkpoint the WAL file is cut back to this, so it never stays large on disk. */
const WAL_SIZE_LIMIT = 1024 * 1024

/**
 * Opens (creating if needed, unless read-only) the gateway's SQLite file, configures it and brings its schema
 * up to date. A damaged file throws ERR.STORE_CORRUPT naming the file and the recovery,
 * instead of a raw SQLite error the daemon would crash-loop on.
 */
export function openDatabase(opts: OpenDatabaseOptions): BetterSqlite3.Database {
  const { file } = opts
  // read-only (status, export): never create an empty database where the service's is not
  if (opts.readonly && !existsSync(file)) throw ERR.STORE_NOT_FOUND(file)
  checkHeader(file)
  let db: BetterSqlite3.Database
  try {
    db = new Database(file, {
      readonly: opts.readonly ?? false,
      fileMustExist: opts.readonly ?? false,
      ...(opts.nativeBinding === undefined ? {} : { nativeBinding: opts.nativeBinding }),
    })
  } catch (err) {
    throw translateOpenError(file, err)
  }
  try {
    configure(db, opts)
    return db
  } catch (err) {
    db.close()
    throw translateOpenError(file, err)
  }
}

function configure(db: BetterSqlite3.Database, opts: OpenDatabaseOptions): void {
  const { file } = opts
  db.pragma('busy_timeout = 5000')
  db.pragma('temp_store = MEMORY')
  if (opts.readonly) {
    const version = schemaVersion(db)
    if (version === 0) throw ERR.STORE_CORRUPT(file, 'empty file, or not a floxgate database')
    if (version > SCHEMA_VERSION) throw ERR.STORE_NEWER_SCHEMA(file, version, SCHEMA_VERSION)
    quickCheck(db, opts)
    return
  }
  const tables = db.prepare('SELECT count(*) AS n FROM sqlite_schema').get() as { n: number }
  const version = schemaVersion(db)
  if (version === 0 && tables.n > 0) {
    throw ERR.STORE_CORRUPT(file, 'a SQLite file, but not a floxgate database')
  }
  if (version > SCHEMA_VERSION) throw ERR.STORE_NEWER_SCHEMA(file, version, SCHEMA_VERSION)
  if (tables.n === 0) {
    // Only possible before the first table exists and before WAL mode.
    db.pragma(`page_size = ${PAGE_SIZE}`)
    db.pragma('auto_vacuum = INCREMENTAL')
  }
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${opts.durability === 'full' ? 'FULL' : 'NORMAL'}`)
  db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT}`)
  quickCheck(db, opts)
  migrate(db)
  // SQLite opens a file it may not write (chmod, chattr +i, a read-only mount) read-only
  // without a word, and the first commit fails long after the daemon said it was ready.
  // Rewriting the schema version is a real write: it fails now, with the reason.
  db.pragma(`user_version = ${schemaVersion(db)}`)
}

function quickCheck(db: BetterSqlite3.Database, opts: OpenDatabaseOptions): void {
  if (opts.integrityCheck === 'none') return
  const rows = db.pragma('quick_check(5)') as { quick_check: string }[]
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== 'ok')
  if (problems.length > 0) throw ERR.STORE_CORRUPT(opts.file, problems.join('; '))
}

/** SQLite opens almost anything lazily; catch the obvious cases with a clear reason. */
function checkHeader(file: string): void {
  if (!existsSync(file)) return
  const st = statSync(file)
  if (st.isDirectory()) throw ERR.STORE_NOT_A_FILE(file, 'a folder')
  if (!st.isFile()) throw ERR.STORE_NOT_A_FILE(file, 'not a regular file')
  const size = st.size
  if (size === 0) return // a file created empty (e.g. by touch): SQLite initialises it
  if (size < 100) throw ERR.STORE_CORRUPT(file, `only ${size} bytes: truncated`)
  const head = Buffer.alloc(MAGIC.length)
  const fd = openSync(file, 'r')
  try {
    readSync(fd, head, 0, head.length, 0)
  } finally {
    closeSync(fd)
  }
  if (!head.equals(MAGIC)) throw ERR.STORE_CORRUPT(file, 'not a SQLite file: bad header')
}

function translateOpenError(file: string, err: unknown): FloxgateError {
  if (err instanceof FloxgateError) return err
  const code = (err as { code?: unknown }).code
  const message = err instanceof Error ? err.message : String(err)
  const made =
    typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
      ? ERR.STORE_CORRUPT(file, message)
      : typeof code === 'string' && code.startsWith('SQLITE_READONLY')
        ? ERR.STORE_READ_ONLY(file, message)
        : ERR.STORE_OPEN_FAILED(file, message)
  return Object.assign(made, { cause: err })
}

/**
 * Moves a damaged database (and its -wal and -shm files) aside as
 * `<file>.corrupt-<UTC time>`, so the next open starts fresh. Returns the new path.
 * A library call for tools and tests: the daemon itself never does this, it refuses to
 * start and lets a person decide (the data may still be recoverable).
 */
export function quarantineCorruptFile(file: string, now: Date = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const target = `${file}.corrupt-${stamp}`
  renameSync(file, target)
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, target + suffix)
  }
  return target
}
