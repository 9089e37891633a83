// Shared harness of the browser tests: a real relaisd on a free port with a temporary data
// folder, an organisation key and a worker account made with the real tools, relais-cli chat
// processes playing the worker, and Debian's chromium driven by playwright-core with a fresh
// profile per browser. Paths come from the environment set by tests/e2e/CMakeLists.txt:
// RELAISD, RELAIS_CLI, RELAIS_WEB_ROOT (client-web/dist), RELAIS_CLIENT_WEB (for node_modules),
// RELAIS_E2E_ARTIFACTS (screenshots are written there, one per step).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run through ctest)`);
  return v;
};

export const paths = {
  relaisd: env('RELAISD'),
  cli: env('RELAIS_CLI'),
  webRoot: env('RELAIS_WEB_ROOT'),
  clientWeb: env('RELAIS_CLIENT_WEB'),
  artifacts: env('RELAIS_E2E_ARTIFACTS'),
};

const requireWeb = createRequire(join(paths.clientWeb, 'package.json'));
export const { chromium } = requireWeb('playwright-core');
const axeSource = readFileSync(requireWeb.resolve('axe-core/axe.min.js'), 'utf8');

/** base64url(SHA-256(org public key)): what the embed snippet pins (CRYPTO.md §7). */
export function fingerprintOf(orgPublicKeyB64url) {
  return createHash('sha256').update(Buffer.from(orgPublicKeyB64url, 'base64url')).digest('base64url');
}

/** CRYPTO.md §5 safety number, computed independently of the widget (node:crypto). */
export function safetyNumberOf(keyA, keyB) {
  const half = (key) => {
    let h = Buffer.concat([Buffer.from([0, 0]), key]);
    for (let i = 0; i < 5200; i++) h = createHash('sha512').update(Buffer.concat([h, key])).digest();
    let out = '';
    for (let i = 0; i < 6; i++) out += String(Number(h.readUIntBE(i * 5, 5) % 100000)).padStart(5, '0');
    return out;
  };
  const [a, b] = [half(Buffer.from(keyA, 'base64url')), half(Buffer.from(keyB, 'base64url'))].sort();
  return (a + b).match(/.{5}/g).join(' ');
}

/** Waits for `predicate(line)` on a growing list of lines. */
function lineWaiter(lines, listeners) {
  return (predicate, timeoutMs = 30_000, what = 'line') =>
    new Promise((resolve, reject) => {
      const found = lines.find(predicate);
      if (found) return resolve(found);
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`timed out waiting for ${what}; seen:\n${lines.slice(-20).join('\n')}`));
      }, timeoutMs);
      const check = (line) => {
        if (predicate(line)) {
          clearTimeout(timer);
          listeners.delete(check);
          resolve(line);
        }
      };
      listeners.add(check);
    });
}

function collectLines(stream, lines, listeners) {
  let buffer = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    buffer += chunk;
    let i;
    while ((i = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      lines.push(line);
      for (const l of [...listeners]) l(line);
    }
  });
}

/** relaisd with an org key, TOTP off, one worker account; stop() ends it by its PID. */
export async function startServer({ extraConfig = '', workerName = 'camille', displayName = 'Camille' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'relais-e2e-'));
  const keygen = spawnSync(paths.cli, ['org', 'keygen', '--out', join(dir, 'org.key')], { encoding: 'utf8' });
  if (keygen.status !== 0) throw new Error(`org keygen: ${keygen.stderr}`);
  const orgPublicKey = JSON.parse(keygen.stdout).public_key;
  const config = join(dir, 'relais.toml');
  writeFileSync(config, `[org]\npublic_key = "${orgPublicKey}"\n[auth]\ntotp_required = false\n${extraConfig}`);
  const data = join(dir, 'data');
  const password = 'correct horse battery staple';
  writeFileSync(join(dir, 'password'), `${password}\n`);
  const add = spawnSync(paths.relaisd, ['--config', config, '--data-dir', data, 'user', 'add', workerName, '--display-name', displayName],
    { input: `${password}\n`, encoding: 'utf8' });
  if (add.status !== 0) throw new Error(`user add: ${add.stderr}`);
  const log = join(dir, 'relaisd.log');
  const proc = spawn(paths.relaisd, ['--config', config, '--data-dir', data, '--listen', '127.0.0.1:0', '--web-root', paths.webRoot],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const listeners = new Set();
  collectLines(proc.stdout, lines, listeners);
  collectLines(proc.stderr, lines, listeners);
  const waitLine = lineWaiter(lines, listeners);
  const listening = await waitLine((l) => l.includes('listening on https://'), 20_000, 'relaisd listening');
  const port = Number(/https:\/\/[^:\s]+:(\d+)/.exec(listening)[1]);
  const origin = `https://127.0.0.1:${port}`;
  let workers = 0;
  return {
    dir, data, origin, port, orgPublicKey, fingerprint: fingerprintOf(orgPublicKey), lines,
    /**
     * A relais-cli chat process playing the worker, driven on stdin. Each call is a new device
     * (new keys in worker-N/) unless `state` names a folder of an earlier run to continue.
     */
    worker(state = `worker-${++workers}`) {
      const args = ['--server', `127.0.0.1:${port}`, '--ca', join(data, 'tls', 'cert.pem'), 'chat', '--role', 'worker',
        '--username', workerName, '--password-file', join(dir, 'password'), '--state', join(dir, state),
        '--certificate-from-org-key', join(dir, 'org.key')];
      const p = spawn(paths.cli, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const out = [];
      const outListeners = new Set();
      collectLines(p.stdout, out, outListeners);
      const err = [];
      collectLines(p.stderr, err, new Set());
      const wait = lineWaiter(out, outListeners);
      return {
        events: () => out.map((l) => { try { return JSON.parse(l); } catch { return {}; } }),
        type: (line) => p.stdin.write(`${line}\n`),
        waitEvent: async (event, extra = () => true, timeoutMs) =>
          JSON.parse(await wait((l) => { try { const j = JSON.parse(l); return j.event === event && extra(j); } catch { return false; } }, timeoutMs, `worker event ${event}`)),
        stop: () => new Promise((resolve) => { p.once('exit', resolve); p.stdin.end(); setTimeout(() => p.kill('SIGKILL'), 5000); }),
        stderr: () => err.join('\n'),
      };
    },
    /**
     * Runs the worker's device `state` once so that its keys are published, and ends it. relaisd
     * lists a worker as an inbox/pre-chat recipient from her next login after her first
     * publication (the permanence learns the identity key at login), so a test that needs her
     * listed starts with this.
     */
    async publishKeys(state) {
      const w = this.worker(state);
      await w.waitEvent('keys_published');
      await w.stop();
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      await new Promise((resolve) => { proc.once('exit', resolve); proc.kill('SIGTERM'); });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const openBrowsers = new Set();

/** Closes every browser still open (a failed test's): call it in `after`, or node cannot exit. */
export async function closeBrowsers() {
  for (const b of [...openBrowsers]) await b.close().catch(() => undefined);
}

/** Debian's chromium with a fresh profile (TOOLCHAIN.md flags). */
export async function launchBrowser({ width = 1280, height = 900 } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'relais-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    ignoreHTTPSErrors: true,
    viewport: { width, height },
  });
  // A step waits for the server and the other side (sealing, X3DH, a relais-cli worker): on a
  // loaded 2-core CI machine that can take well over Playwright's default 30 s. Not a timed
  // assertion: a limit after which the step is called stuck.
  context.setDefaultTimeout(90_000);
  const browser = {
    context,
    profile,
    async close() {
      openBrowsers.delete(browser);
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
  openBrowsers.add(browser);
  return browser;
}

/** Saves a screenshot of one step under RELAIS_E2E_ARTIFACTS/<suite>/. */
export function screenshots(suite) {
  const dir = join(paths.artifacts, suite);
  mkdirSync(dir, { recursive: true });
  let n = 0;
  return (page, step) => page.screenshot({ path: join(dir, `${String(++n).padStart(2, '0')}-${step}.png`), fullPage: true });
}

/**
 * Runs axe-core in a page or frame (through the DevTools protocol, so the page's CSP is not
 * relaxed) and returns the serious and critical violations.
 */
export async function axeViolations(target) {
  await target.evaluate(axeSource);
  const result = await target.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** Every file under `dir`, recursively, with its bytes. */
export function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const entry of spawnSync('find', [d, '-type', 'f'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean)) out.push(entry);
  };
  walk(dir);
  return out.map((f) => ({ path: f, bytes: readFileSync(f) }));
}

/** The Ed25519 public key (base64url) of a 32-byte seed (base64url), with node:crypto. */
export async function ed25519PublicFromSeed(seedB64url) {
  const { createPrivateKey, createPublicKey } = await import('node:crypto');
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedB64url, 'base64url')]);
  const jwk = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' });
  return jwk.x;
}

/** dist/widget/loader.json of the build under test: the loader's names and its SRI value. */
export function loaderInfo() {
  return JSON.parse(readFileSync(join(paths.webRoot, 'widget', 'loader.json'), 'utf8'));
}

/** The embed snippet exactly as README.md gives it, for the relaisd at `server`. */
export function embedSnippet({ server, fingerprint, lang = 'fr', exit, integrity = loaderInfo().integrity }) {
  const attr = (v) => String(v).replace(/&/g, '&amp;').replace(/"/g, '&quot;');
  return `<script async src="${attr(server)}/widget/loader.js" integrity="${attr(integrity)}" crossorigin="anonymous"\n` +
    `  data-relais-server="${attr(server)}" data-relais-lang="${attr(lang)}" data-relais-org="${attr(fingerprint)}"` +
    (exit ? ` data-relais-exit="${attr(exit)}"` : '') + '></script>';
}

/**
 * The worker's own website: a plain HTTP server on 127.0.0.1, another origin than relaisd,
 * serving one demo page per path (set with `page(path, snippet)`); everything else is 404.
 * Every request it receives is recorded.
 */
export async function startHostSite() {
  const { createServer } = await import('node:http');
  const pages = new Map();
  const requests = [];
  const server = createServer((req, res) => {
    requests.push(req.url);
    const body = pages.get(req.url);
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    requests,
    /** A demo page of an association's site with `snippet` before </body>. */
    page(path, snippet) {
      pages.set(path, `<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Association L’Écoute — accueil</title>
<style>body { font: 18px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 720px; padding: 16px; color: #222; }
a { color: #0b4f8a; } .notice { color: #000; background: #fffbe6; padding: 8px; }</style></head>
<body>
<header><p><a href="#contact">Aller au contact</a></p></header>
<main>
<h1>Association L’Écoute</h1>
<p>Nous accompagnons les personnes âgées, les étudiants et toute personne qui a besoin de parler.</p>
<h2 id="contact">Nous contacter</h2>
<p class="notice">La permanence d’écoute répond par écrit, de façon confidentielle : utilisez le bouton en bas à droite.</p>
</main>
${snippet}
</body>
</html>
`);
      return `${origin}${path}`;
    },
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}

/** The widget's frame inside the loader's closed shadow root, once it has navigated to `serverOrigin`. */
export async function widgetFrame(page, serverOrigin, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = page.frames().find((x) => x !== page.mainFrame() && x.url().startsWith(`${serverOrigin}/widget/`));
    if (f) return f;
    if (Date.now() > deadline) throw new Error(`no widget frame; frames: ${page.frames().map((x) => x.url()).join(', ')}`);
    await page.waitForEvent('framenavigated', { timeout: Math.max(1, deadline - Date.now()) }).catch(() => undefined);
  }
}
