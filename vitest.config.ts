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
    // Most of a test's time is spent waiting on child processes, brokers and fsyncs, not
    // on its own CPU: vitest's default (cores - 1) ran the suite one file at a time on the
    // 2-core CI machine (263 s); 3 files at once took 130-147 s there, 4 of 4 runs green.
    maxWorkers: Math.max(3, availableParallelism() - 1),
  },
})
