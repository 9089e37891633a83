import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The console's unit tests (`npx vitest run --config console/vitest.config.ts`): its state,
// key vault, strings, snippet and transcript code, without a browser (the screens are tested
// in Debian's chromium by tests/e2e/console).
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['console/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['common/crypto/test_setup.ts'],
    // Argon2id at 64 MiB takes about a second per derivation in wasm.
    testTimeout: 60_000,
  },
});
