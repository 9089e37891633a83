// What the console's browser test needs beyond tests/e2e/harness/harness.mjs (relaisd on a free
// port, chromium profiles, screenshots, axe-core and file scans come from there): TOTP codes
// computed independently (RFC 6238 with node:crypto), a second worker account on the running
// server, and relais-cli as a beneficiary (for what the widget cannot do yet), driven on stdin.
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { paths } from '../harness/harness.mjs';

/** Runs a command to completion; throws with its output if it fails. */
export function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Adds a worker account to the harness's server (relaisd user works on the store while it runs); returns her id. */
export function addWorker(server, username, displayName, password) {
  const out = run(paths.relaisd, ['--config', join(server.dir, 'relais.toml'), '--data-dir', server.data, 'user', 'add', username, '--display-name', displayName], `${password}\n`);
  return Number(out.trim().split('\n').at(-1));
}

/** A worker certificate for `identityKey`, signed by the harness's org key, as an admin would. */
export function certify(server, identityKey, name) {
  return run(paths.cli, ['org', 'certify', '--org-key', join(server.dir, 'org.key'), '--identity-key', identityKey, '--name', name]).trim();
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

/**
 * relais-cli chat as a beneficiary with its own state folder (the same folder is the same
 * person coming back): commands go to its stdin, its JSON events are collected.
 */
export function cliBeneficiary(server, stateDir, name) {
  const child = spawn(paths.cli, ['--server', `127.0.0.1:${server.port}`, '--ca', join(server.data, 'tls/cert.pem'), 'chat', '--role', 'beneficiary',
    '--org-key-pub', server.orgPublicKey, '--state', stateDir, '--wait-timeout-ms', '60000'], { stdio: ['pipe', 'pipe', 'pipe'] });
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
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await new Promise((r) => child.once('exit', r));
      clearTimeout(timer);
    },
  };
}
