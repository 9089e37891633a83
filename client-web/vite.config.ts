import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, defineConfig, type Plugin } from 'vite';

// One build for what relaisd serves from dist/:
// - widget/index.html (the page inside the loader's iframe) with its hashed assets; libsodium
//   and the session layer are a separate chunk loaded on demand;
// - console/index.html, only when the console engineer's page exists;
// - the loader, a small classic script built on its own (no module, no shared chunk): a stable
//   name dist/widget/loader.js for the embed snippet, the same bytes under the immutable
//   dist/assets/loader-<hash>.js, and dist/widget/loader.json with both names, the byte size
//   and the SRI sha384 hash the snippet pins.
const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

const inputs: Record<string, string> = { widget: here('./widget/index.html') };
if (existsSync(here('./console/index.html'))) inputs.console = here('./console/index.html');

function loaderBundle(): Plugin {
  return {
    name: 'relais-loader',
    apply: 'build',
    async closeBundle() {
      await build({
        configFile: false,
        logLevel: 'warn',
        build: {
          outDir: here('./dist/widget'),
          emptyOutDir: false,
          sourcemap: false,
          target: 'es2020',
          lib: { entry: here('./widget/loader.ts'), formats: ['iife'], name: 'relaisLoader', fileName: () => 'loader.js' },
        },
      });
      const file = here('./dist/widget/loader.js');
      // The IIFE assigns its (empty) exports to a global; drop that so the host page gets no global.
      const code = readFileSync(file, 'utf8').replace(/^var relaisLoader\s*=\s*/m, '');
      writeFileSync(file, code);
      const bytes = readFileSync(file);
      const short = createHash('sha256').update(bytes).digest('base64url').slice(0, 10);
      writeFileSync(here(`./dist/assets/loader-${short}.js`), bytes);
      const integrity = 'sha384-' + createHash('sha384').update(bytes).digest('base64');
      writeFileSync(
        here('./dist/widget/loader.json'),
        JSON.stringify({ stable: '/widget/loader.js', hashed: `/assets/loader-${short}.js`, integrity, bytes: bytes.length }, null, 2) + '\n',
      );
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [loaderBundle()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    target: 'es2022',
    // libsodium in its own chunk, loaded on demand: the budget is stated apart from it.
    chunkSizeWarningLimit: 800,
    rolldownOptions: {
      input: inputs,
      output: { advancedChunks: { groups: [{ name: 'libsodium', test: /libsodium/ }] } },
    },
  },
});
