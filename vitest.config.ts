import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/**/src/**/*.test.ts', 'apps/**/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Each file gets its own database and Redis prefix, so files run in parallel safely.
    pool: 'forks',
    // The files of a worker share one process and its loaded modules. Each file importing the
    // whole app afresh was ~27 % of a pass on the 2-core CI host (span 520 s isolated, 382 s not,
    // 2026-12-07), which runs two passes side by side against a 15-minute limit. What the files
    // share is modules, not data: each has its own database, Redis prefix, ports and servers, and
    // the process-wide hooks tests install (FCM and OAuth redirects, fake timers, dns/net spies)
    // are undone in their afterEach/afterAll.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
