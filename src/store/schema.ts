import type BetterSqlite3 from 'better-sqlite3'

/**
 * The schema, as ordered migrations. `PRAGMA user_version` holds how many have run; each
 * runs in its own transaction with the version bump, so a crash leaves a file at a
 * whole version. Never edit a shipped migration: append a new one.
 *
 * Layout choices (flash wear is measured in bytes written per reading):
 * - `readings` is keyed (ts, series, value) WITHOUT ROWID (since version 3): rows arrive
 *   roughly in time order, so a batch appends to the right edge of one B-tree instead of
 *   touching a page per device, and the key doubles as the dedupe constraint.
 * - `deliveries` remembers message ids and MQTT packet ids of stored messages, so a
 *   redelivery without a sensor timestamp is recognised (gateway/reading-identity.ts).
 * - device and metric names live once in `series`; a reading stores a small integer.
 * - `recv_delay` is received_at - ts: 0 or a few bytes instead of another 6-byte time.
 */
export interface Migration {
  readonly version: number
  readonly description: string
  readonly up: (db: BetterSqlite3.Database) => void
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'series, readings, aggregates, alert events, dead letters',
    up: (db) =>
      db.exec(`
        CREATE TABLE series (
          id INTEGER PRIMARY KEY,
          device TEXT NOT NULL,
          metric TEXT NOT NULL,
          UNIQUE (device, metric)
        );
        CREATE TABLE readings (
          ts INTEGER NOT NULL,
          series INTEGER NOT NULL,
          value REAL NOT NULL,
          recv_delay INTEGER NOT NULL,
          PRIMARY KEY (ts, series)
        ) WITHOUT ROWID;
        CREATE TABLE aggregates (
          window_start INTEGER NOT NULL,
          series INTEGER NOT NULL,
          window_end INTEGER NOT NULL,
          count INTEGER NOT NULL,
          min REAL NOT NULL,
          max REAL NOT NULL,
          mean REAL NOT NULL,
          last REAL NOT NULL,
          PRIMARY KEY (window_start, series)
        ) WITHOUT ROWID;
        CREATE TABLE alert_events (
          id INTEGER PRIMARY KEY,
          ts INTEGER NOT NULL,
          gateway TEXT NOT NULL,
          device TEXT NOT NULL,
          metric TEXT,
          rule TEXT NOT NULL,
          kind TEXT NOT NULL,
          severity TEXT NOT NULL,
          state TEXT NOT NULL,
          value REAL,
          threshold REAL,
          since INTEGER NOT NULL
        );
        CREATE INDEX alert_events_ts ON alert_events (ts);
        CREATE TABLE dead_letters (
          id INTEGER PRIMARY KEY,
          received_at INTEGER NOT NULL,
          topic TEXT NOT NULL,
          payload BLOB NOT NULL,
          reason TEXT NOT NULL,
          detail TEXT NOT NULL,
          device TEXT
        );
        CREATE INDEX dead_letters_received_at ON dead_letters (received_at);
      `),
  },
  {
    version: 2,
    description: 'uplink outbox, current alert state, latest reading per series',
    up: (db) =>
      db.exec(`
        CREATE TABLE outbox (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          stream TEXT NOT NULL,
          topic TEXT NOT NULL,
          payload BLOB NOT NULL,
          created_at INTEGER NOT NULL
        );
        CREATE TABLE alert_state (
          device TEXT NOT NULL,
          metric TEXT NOT NULL,
          rule TEXT NOT NULL,
          gateway TEXT NOT NULL,
          kind TEXT NOT NULL,
          severity TEXT NOT NULL,
          value REAL,
          threshold REAL,
          since INTEGER NOT NULL,
          ts INTEGER NOT NULL,
          PRIMARY KEY (device, metric, rule)
        ) WITHOUT ROWID;
        -- One small row per series, rewritten once per batch: the CLI's "latest reading"
        -- without an index on readings by device (which would touch a page per device).
        CREATE TABLE latest (
          series INTEGER PRIMARY KEY,
          ts INTEGER NOT NULL,
          value REAL NOT NULL
        );
        INSERT INTO latest (series, ts, value)
          SELECT series, ts, value FROM readings r
          WHERE ts = (SELECT max(ts) FROM readings WHERE series = r.series);
      `),
  },
  {
    version: 3,
    description: 'alert notifications outbox',
    // One row per alert transition and sink, written with the alert event; the notifier
    // deletes a row once its sink accepted it. `failed_at` marks one the sink refused
    // (4xx): kept for inspection, not retried.
    up: (db) =>
      db.exec(`
        CREATE TABLE notifications (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          sink TEXT NOT NULL,
          payload TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0,
          last_error TEXT,
          failed_at INTEGER
        );
        CREATE INDEX notifications_sink ON notifications (sink, failed_at, id);
      `),
  },
  {
    version: 4,
    description: 'Home Assistant discovery configs published',
    // What the gateway announced, so a device removed from the config (even while the
    // daemon was stopped) gets its empty retained config. `configured` = 0 for unknown
    // devices announced on their first reading, which stay while unknown devices are
    // accepted.
    up: (db) =>
      db.exec(`
        CREATE TABLE ha_discovery (
          topic TEXT PRIMARY KEY,
          payload TEXT NOT NULL,
          configured INTEGER NOT NULL
        ) WITHOUT ROWID;
      `),
  },
  {
    version: 5,
    description: 'readings keyed by value too; deliveries remembered for redelivery detection',
    // (ts, series) merged two different readings with one timestamp; the value joins the
    // key (docs/storage.md, "Identity of a reading"). Rows still arrive at the right edge.
    up: (db) =>
      db.exec(`
        CREATE TABLE readings_v3 (
          ts INTEGER NOT NULL,
          series INTEGER NOT NULL,
          value REAL NOT NULL,
          recv_delay INTEGER NOT NULL,
          PRIMARY KEY (ts, series, value)
        ) WITHOUT ROWID;
        INSERT INTO readings_v3 (ts, series, value, recv_delay)
          SELECT ts, series, value, recv_delay FROM readings;
        DROP TABLE readings;
        ALTER TABLE readings_v3 RENAME TO readings;
        CREATE TABLE deliveries (
          source TEXT NOT NULL,
          id TEXT NOT NULL,
          digest TEXT NOT NULL,
          at INTEGER NOT NULL,
          PRIMARY KEY (source, id)
        ) WITHOUT ROWID;
        CREATE INDEX deliveries_at ON deliveries (at);
      `),
  },
  {
    version: 6,
    description: 'aggregate windows kept across a graceful restart',
    // Written at a graceful stop, read and emptied at the next start (store/kept-windows.ts):
    // the open windows go on where they were, `closed` ones (closed at a reload, not yet
    // stored) are stored and published then.
    up: (db) =>
      db.exec(`
        CREATE TABLE kept_windows (
          device TEXT NOT NULL,
          metric TEXT NOT NULL,
          closed INTEGER NOT NULL,
          window_start INTEGER NOT NULL,
          window_end INTEGER NOT NULL,
          count INTEGER NOT NULL,
          min REAL NOT NULL,
          max REAL NOT NULL,
          sum REAL NOT NULL,
          last REAL NOT NULL,
          last_ts INTEGER NOT NULL,
          closed_until INTEGER,
          PRIMARY KEY (device, metric, closed, window_start)
        ) WITHOUT ROWID;
      `),
  },
  {
    version: 7,
    description: 'aggregates keyed by their whole window (start, series, end)',
    // A window size changed by a reload or a restart starts windows where closed ones of
    // the old size started: (window_start, series) dropped the second aggregate as a copy.
    up: (db) =>
      db.exec(`
        CREATE TABLE aggregates_v7 (
          window_start INTEGER NOT NULL,
          series INTEGER NOT NULL,
          window_end INTEGER NOT NULL,
          count INTEGER NOT NULL,
          min REAL NOT NULL,
          max REAL NOT NULL,
          mean REAL NOT NULL,
          last REAL NOT NULL,
          PRIMARY KEY (window_start, series, window_end)
        ) WITHOUT ROWID;
        INSERT INTO aggregates_v7 SELECT window_start, series, window_end, count, min, max, mean, last
          FROM aggregates;
        DROP TABLE aggregates;
        ALTER TABLE aggregates_v7 RENAME TO aggregates;
      `),
  },
]

export const SCHEMA_VERSION = MIGRATIONS.length

export function schemaVersion(db: BetterSqlite3.Database): number {
  return db.pragma('user_version', { simple: true }) as number
}

/** Runs the migrations above the file's version, up to `target`. Returns the versions run. */
export function migrate(db: BetterSqlite3.Database, target = SCHEMA_VERSION): number[] {
  const ran: number[] = []
  for (const m of MIGRATIONS) {
    if (m.version > target || m.version <= schemaVersion(db)) continue
    db.transaction(() => {
      m.up(db)
      db.pragma(`user_version = ${m.version}`)
    }).immediate()
    ran.push(m.version)
  }
  return ran
}
