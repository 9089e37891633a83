// Helpers of the console's browser tests: relaisd and relais-cli as child processes, TOTP
// codes, chromium through playwright-core, screenshots and the axe-core check.
// TODO(issue 8): move what tests/e2e/harness provides (relaisd on a free port, chromium
// launch) to that harness once it lands, and import it here.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const clientWeb = path.join(repo, 'client-web');
const require = createRequire(path.join(clientWeb, 'package.json'));
export const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Binaries: RELAISD and RELAIS_CLI from ctest, or the given build folder. */
export const relaisd = process.env.RELAISD ?? path.join(repo, 'build/server/app/relaisd');
export const relaisCli = process.env.RELAIS_CLI ?? path.join(repo, 'build/cli/relais-cli');

/** A fresh temporary folder. */
export function tempDir(prefix) {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** Runs a command to completion; throws with its output if it fails. */
export function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Waits until a line of `stream` matches `re`; resolves with the match. */
function waitLine(stream, re, timeoutMs, what) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: stream });
    const timer = setTimeout(() => {
      rl.close();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    rl.on('line', (line) => {
      const m = line.match(re);
      if (m) {
        clearTimeout(timer);
        rl.close();
        resolve(m);
      }
    });
  });
}

/** relaisd on a free port with an org key, TOTP required and the given worker accounts. */
export async function startServer({ dir, webRoot, workers }) {
  const org = JSON.parse(run(relaisCli, ['org', 'keygen', '--out', path.join(dir, 'org.key')]));
  const config = path.join(dir, 'relais.toml');
  writeFileSync(config, `[org]\npublic_key = "${org.public_key}"\n[auth]\ntotp_required = true\n`);
  const data = path.join(dir, 'data');
  for (const w of workers) {
    run(relaisd, ['--config', config, '--data-dir', data, 'user', 'add', w.username, '--display-name', w.displayName], `${w.password}\n`);
  }
  const log = path.join(dir, 'relaisd.log');
  const child = spawn('/bin/sh', ['-c', 'exec "$0" --config "$1" --data-dir "$2" --web-root "$3" --listen 127.0.0.1:0 2>"$4"', relaisd, config, data, webRoot, log], { stdio: ['ignore', 'pipe', 'inherit'] });
  const m = await waitLine(child.stdout, /listening on https:\/\/[^:]+:(\d+)/, 30_000, 'relaisd listening');
  child.stdout.resume();
  const port = Number(m[1]);
  return {
    org,
    data,
    log,
    port,
    url: `https://127.0.0.1:${port}`,
    orgKeyFile: path.join(dir, 'org.key'),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** The RFC 6238 code (HMAC-SHA1, 6 digits, 30 s) of an otpauth URI at time step `step`. */
export function totpAt(uri, step) {
  const secret = new URL(uri).searchParams.get('secret');
  let bits = 0;
  let value = 0;
  const bytes = [];
  for (const ch of secret.replace(/=+$/, '')) {
    value = (value << 5) | 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', Buffer.from(bytes)).update(msg).digest();
  const o = mac[mac.length - 1] & 0x0f;
  const code = ((mac[o] & 0x7f) << 24) | (mac[o + 1] << 16) | (mac[o + 2] << 8) | mac[o + 3];
  return String(code % 1_000_000).padStart(6, '0');
}

/** The current TOTP time step. */
export function currentStep() {
  return Math.floor(Date.now() / 1000 / 30);
}

/**
 * A code relaisd accepts now and that is later than `lastStep` (each step is usable once; the
 * server accepts one step of drift either way). Waits for the clock only when both are used.
 */
export async function freshTotp(uri, lastStep) {
  for (;;) {
    const now = currentStep();
    const step = Math.max(lastStep + 1, now - 1);
    if (step <= now + 1) return { code: totpAt(uri, step), step };
    await new Promise((r) => setTimeout(r, (30 - ((Date.now() / 1000) % 30)) * 1000 + 200));
  }
}

/** A chromium with a fresh profile (nothing shared with other contexts). */
export async function newBrowser(name) {
  const profile = tempDir(`relais-console-${name}-`);
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    ignoreHTTPSErrors: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const shots = path.join(repo, 'tests/e2e/screenshots/console');
let shotCount = 0;

/** Saves a screenshot of this step (kept by .ci/run). */
export async function screenshot(page, name) {
  mkdirSync(shots, { recursive: true });
  shotCount += 1;
  await page.screenshot({ path: path.join(shots, `${String(shotCount).padStart(2, '0')}-${name}.png`), fullPage: true });
}

/** Runs axe-core on the page; returns the serious and critical violations. */
export async function axeViolations(page) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * relais-cli chat as a beneficiary: commands go to its stdin, its JSON events are collected;
 * `waitFor(pred)` resolves with the first event that matches.
 */
export function beneficiary(server, dir, name) {
  const child = spawn(relaisCli, ['--server', `127.0.0.1:${server.port}`, '--ca', path.join(server.data, 'tls/cert.pem'), 'chat', '--role', 'beneficiary', '--org-key-pub', server.org.public_key, '--state', path.join(dir, `${name}-state`), '--wait-timeout-ms', '60000'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events = [];
  const waiters = [];
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e;
    try {
      e = JSON.parse(line);
    } catch {
      return;
    }
    events.push(e);
    for (const w of [...waiters]) {
      if (w.pred(e)) {
        waiters.splice(waiters.indexOf(w), 1);
        clearTimeout(w.timer);
        w.resolve(e);
      }
    }
  });
  return {
    events,
    type(line) {
      child.stdin.write(line + '\n');
    },
    waitFor(pred, what, timeoutMs = 60_000) {
      const found = events.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve, timer: setTimeout(() => reject(new Error(`beneficiary ${name}: timed out waiting for ${what}; events: ${JSON.stringify(events).slice(-2000)} stderr: ${stderr.slice(-1000)}`)), timeoutMs) };
        waiters.push(w);
      });
    },
    async quit() {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}
