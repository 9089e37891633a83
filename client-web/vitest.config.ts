import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['common/**/*.test.ts', 'widget/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['common/crypto/test_setup.ts'],
    // Argon2id at 64 MiB and the 1000-message transcripts take a few seconds each.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
