import { statSync } from 'node:fs'

/**
 * Which files a database path names (device and inode of the file and of its WAL), to
 * notice them deleted or replaced under the running daemon: SQLite keeps writing to the
 * files it opened, which are no longer the ones at the path, and everything committed to
 * them is gone at the next start (the WAL's last commits too, before a checkpoint). A
 * stat per file and commit costs about a microsecond next to the commit's fsync.
 */
export class FileIdentity {
  readonly #files: { path: string; dev: number; ino: number }[]

  /** `file` must exist; its `-wal` is watched too when it exists now (WAL mode, opened). */
  constructor(file: string) {
    this.#files = [file, `${file}-wal`].flatMap((path, i) => {
      const st = statSync(path, { throwIfNoEntry: i === 0 })
      return st === undefined ? [] : [{ path, dev: st.dev, ino: st.ino }]
    })
  }

  /** What happened to the files since they were opened, in words; undefined when nothing. */
  change(): string | undefined {
    for (const f of this.#files) {
      const st = statSync(f.path, { throwIfNoEntry: false })
      const name = f === this.#files[0] ? '' : ` (its WAL, ${f.path})`
      if (st === undefined) return `was deleted or moved away${name}`
      if (st.dev !== f.dev || st.ino !== f.ino) {
        return `was replaced by another file${name} (inode ${f.ino} is now ${st.ino})`
      }
    }
    return undefined
  }
}
