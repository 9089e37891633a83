import { defineConfig } from 'vite';

// Until the widget and console pages exist (issue 8), the build produces the shared
// protocol/crypto code as an ES library so its size is visible; libsodium stays external
// because the pages load it on demand.
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: true,
    lib: {
      entry: 'common/crypto/index.ts',
      formats: ['es'],
      fileName: () => 'relais-crypto.js',
    },
    rolldownOptions: {
      external: ['libsodium-wrappers-sumo'],
    },
  },
});
