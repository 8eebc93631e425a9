import Database from 'better-sqlite3'

/** The store's outbox table, exactly as src/store creates it. */
export const OUTBOX_DDL =
  'CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, created_at INTEGER NOT NULL)'

/** A SQLite file in WAL mode with the outbox table, as the store leaves it. */
export function openOutboxDb(file: string): Database.Database {
  const db = new Database(file)
  db.pragma('journal_mode = WAL')
  db.exec(OUTBOX_DDL)
  return db
}

export interface InsertOptions {
  createdAt?: number
  stream?: string
  topic?: string
}

/** Inserts rows whose payload is `{"seq":n}` for n = from..from+count-1, in one commit. */
export function insertRows(
  db: Database.Database,
  from: number,
  count: number,
  o: InsertOptions = {},
) {
  const stmt = db.prepare(
    'INSERT INTO outbox (stream, topic, payload, created_at) VALUES (?, ?, ?, ?)',
  )
  db.transaction(() => {
    for (let seq = from; seq < from + count; seq++) {
      const payload = Buffer.from(JSON.stringify({ seq }))
      stmt.run(
        o.stream ?? 'readings',
        o.topic ?? `readings/dev${seq % 4}/temperature`,
        payload,
        o.createdAt ?? Date.now(),
      )
    }
  })()
}

export function outboxCount(db: Database.Database): number {
  return (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n
}

export function outboxSeqs(db: Database.Database): number[] {
  return (db.prepare('SELECT payload FROM outbox ORDER BY id').all() as { payload: Buffer }[]).map(
    (r) => (JSON.parse(r.payload.toString()) as { seq: number }).seq,
  )
}
