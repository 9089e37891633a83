import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Builds the console page alone into console/dist/ (console/index.html and its assets), for the
// console's browser tests and until the package's vite.config.ts builds it with the widget:
// `npx vite build --config console/vite.config.ts`.
export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    sourcemap: true,
    target: 'es2022',
    rolldownOptions: {
      input: { console: fileURLToPath(new URL('./index.html', import.meta.url)) },
    },
  },
});
