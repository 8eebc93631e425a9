/**
 * The CLI's exit codes, documented in the README. systemd's `Restart=on-failure`
 * restarts on any non-zero code; `RestartPreventExitStatus=2 3` in the unit keeps a
 * gateway with a broken config or a corrupt database from restarting in a loop.
 * src/errors.ts declares which error ends the CLI with which code.
 */
export const EXIT = {
  OK: 0,
  /** Runtime failure (a broker port in use, an I/O error): the log says which. */
  FAILURE: 1,
  /** Invalid config or command line: fix the file or the arguments. */
  USAGE: 2,
  /** The database file is corrupt or unreadable: see "Recovery" in docs/storage.md. */
  DATABASE: 3,
} as const
