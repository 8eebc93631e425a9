import { statSync } from 'node:fs'

/**
 * Which file a path names (device and inode), to notice the database being deleted or
 * replaced under the running daemon: SQLite keeps writing to the file it opened, which
 * is no longer the one at the path, and everything committed to it is gone at the next
 * start. A stat per commit costs about a microsecond next to the commit's fsync.
 */
export class FileIdentity {
  readonly #file: string
  readonly #dev: number
  readonly #ino: number

  constructor(file: string) {
    const st = statSync(file)
    this.#file = file
    this.#dev = st.dev
    this.#ino = st.ino
  }

  /** What happened to the file since it was opened, in words; undefined when nothing. */
  change(): string | undefined {
    const st = statSync(this.#file, { throwIfNoEntry: false })
    if (st === undefined) return 'was deleted or moved away'
    if (st.dev !== this.#dev || st.ino !== this.#ino) {
      return `was replaced by another file (inode ${this.#ino} is now ${st.ino})`
    }
    return undefined
  }
}
