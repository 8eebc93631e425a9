import { availableParallelism } from 'node:os'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start brokers, child processes and SQLite files: give slow CI machines room,
    // but every wait inside a test is bounded by its own deadline too.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // A worker runs its files one after another in one process instead of a fresh one per
    // file: vitest, aedes, zod and the sources are imported once per worker, not 140 times.
    // 230 -> 193 s for the suite here, which CI runs four times (this machine's Node, 22,
    // 24, 26). Safe because no test mocks modules, fakes timers or leaves globals set: every
    // daemon, broker and store a test starts is its own instance, closed in its cleanups.
    isolate: false,
    // Most of a test's time is spent waiting on child processes, brokers and fsyncs, not
    // on its own CPU: vitest's default (cores - 1) ran the suite one file at a time on the
    // 2-core CI machine (263 s); 3 files at once took 130-147 s there, 4 of 4 runs green.
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
})
