import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests start brokers, child processes and SQLite files: give slow CI machines room,
    // but every wait inside a test is bounded by its own deadline too.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
