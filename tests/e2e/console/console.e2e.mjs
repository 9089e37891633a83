// The worker console end to end (issue 9 "Done when"), in Debian's chromium against a real
// relaisd, run by ctest as e2e.console.scenario. Three browsers with fresh profiles: Camille's
// console, the beneficiary's widget (/widget/ opened on its own), Nadia's console; a second
// beneficiary leaves a message in the widget while the permanence is closed and comes back for
// the answer on a fresh profile with her resume code; relais-cli leaves a feedback.
//   Camille logs in (wrong password refused), enrols TOTP from the QR code's URI, creates her
//   keys certified by the org key, logs in again with a TOTP code and unlocks them with her
//   passphrase (a wrong one refused); starts her shift. The beneficiary opens the widget, fills the
//   pre-chat and waits; Camille takes her; messages both ways; a private note (one too long is
//   refused); a transfer to a worker who does not exist is refused with a clear sentence; the
//   transfer to Nadia (second account, her own console and certified keys), who writes first
//   (held until the beneficiary writes) and continues; Nadia ends. Camille goes off (the end-of-shift choice), Nadia too; a new beneficiary sees the
//   widget's closed screen and leaves a message (a feedback comes from relais-cli); at Camille's next
//   shift both are opened in her console, the feedback is dismissed, the message answered and
//   the answer reaches the beneficiary when she comes back. Camille's console restored on a fresh
//   profile with the recovery key: history, pre-chat, message left and notes are there.
// axe-core (serious/critical) on every console screen; a screenshot per step in
// $RELAIS_E2E_ARTIFACTS/console/; at the end relaisd's data folder and output hold none of the
// typed text, notes included.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { axeViolations, filesUnder, launchBrowser, paths, screenshots, startServer } from '../harness/harness.mjs';
import { addWorker, certify, cliBeneficiary, currentStep, freshTotp, totpAt } from './support.mjs';

const camille = { username: 'camille', displayName: 'Camille', password: 'correct horse battery staple' }; // the harness's account
const nadia = { username: 'nadia', displayName: 'Nadia', password: 'une autre phrase de passe 2' };
const passphrase = 'coffre de Camille, phrase longue';
// Every text typed in the run carries a canary the final scan looks for.
const typed = {
  name: 'Anastasia-c4n4',
  waiting: 'Bonjour, je voudrais parler à quelqu’un (canari 7f3a)',
  reply: 'Je vous écoute, prenez votre temps (canari 91bc)',
  second: 'Merci, ça me fait du bien (canari 44d2)',
  note: 'Note privée : rappeler jeudi (canari c0de)',
  nadiaFirst: 'Bonjour, ici Nadia, Camille m’a passé le relais (canari 5e11)',
  toNadia: 'D’accord, merci Nadia (canari 8b0b)',
  inbox: 'Bonsoir, pouvez-vous me rappeler demain ? (canari 1b0x)',
  feedback: 'Merci pour l’écoute de la semaine dernière (canari fe3d)',
  answer: 'Bonjour, je vous rappelle demain à 10 h (canari a45w)',
  back: 'Me revoilà (canari b4ck)',
};

let server;
const browsers = [];
rmSync(join(paths.artifacts, 'console'), { recursive: true, force: true }); // this run's screenshots only
const shot = screenshots('console');
const cliDir = mkdtempSync(join(tmpdir(), 'relais-console-cli-'));

async function screen(page, name) {
  await shot(page, name);
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${name}: ${JSON.stringify(violations)}`);
}

/** The frame types (and error names) each page exchanged lately, for a failure's message; no content. */
const frameLog = new Map();

async function newPage(name, size) {
  const b = await launchBrowser(size);
  browsers.push(b);
  const page = await b.context.newPage();
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (e) => console.error(`[${name}] page error: ${e.message}`));
  const log = [];
  frameLog.set(name, log);
  const keep = (dir) => (f) => {
    try {
      const j = JSON.parse(f.payload);
      log.push(`${dir}${j.type}${j.name ? `:${j.name}` : ''}`);
      if (log.length > 30) log.shift();
    } catch {
      // not a JSON frame
    }
  };
  page.on('websocket', (ws) => {
    ws.on('framesent', keep('>'));
    ws.on('framereceived', keep('<'));
  });
  return page;
}

async function login(page, who, code) {
  await page.goto(`${server.origin}/console/`);
  await page.getByLabel('Identifiant').fill(who.username);
  await page.getByLabel('Mot de passe', { exact: true }).fill(who.password);
  if (code) await page.getByLabel('Code à 6 chiffres').fill(code);
  await page.getByRole('button', { name: 'Se connecter' }).click();
}

/** TOTP enrolment from the screen (the QR code's URI); returns the URI and the step used. */
async function enrolTotp(page, name, check) {
  await page.locator('#totp-uri').waitFor();
  const uri = await page.locator('#totp-uri').getAttribute('href');
  assert.match(uri, /^otpauth:\/\/totp\//);
  if (check) {
    // The QR code is an image named by its caption; the key stays written out beside it.
    const qr = page.getByRole('img', { name: 'QR code à scanner' });
    assert.equal(await qr.count(), 1);
    assert.ok((await qr.locator('path').getAttribute('d')).length > 100);
    assert.equal((await page.locator('#totp-secret').textContent()).replace(/ /g, ''), new URL(uri).searchParams.get('secret'));
    await screen(page, `${name}-totp-enrolment`);
    await page.getByLabel('Code à 6 chiffres').fill(totpAt(uri, currentStep() - 5));
    await page.getByRole('button', { name: 'Activer' }).click();
    await page.locator('#totp-error').filter({ hasText: 'incorrect' }).waitFor();
  }
  const step = currentStep();
  await page.getByLabel('Code à 6 chiffres').fill(totpAt(uri, step));
  await page.getByRole('button', { name: 'Activer' }).click();
  await page.locator('#setup-identity-key').waitFor();
  return { uri, step };
}

/** First-run keys certified by the org key; returns the recovery key shown once. */
async function setUpKeys(page, who, name, check) {
  const ik = (await page.locator('#setup-identity-key').textContent()).trim();
  assert.match(await page.locator('#setup-command').textContent(), new RegExp(`--identity-key ${ik}`));
  if (check) await screen(page, `${name}-key-setup`);
  await page.getByLabel('Phrase de passe', { exact: true }).fill(passphrase);
  await page.getByLabel('Phrase de passe (encore)').fill(passphrase);
  if (check) {
    await page.getByLabel('Certificat reçu').fill('pas un certificat');
    await page.getByRole('button', { name: 'Créer mes clés' }).click();
    await page.locator('#setup-error').filter({ hasText: 'certificat' }).waitFor();
  }
  await page.getByLabel('Certificat reçu').fill(certify(server, ik, who.displayName));
  await page.getByRole('button', { name: 'Créer mes clés' }).click();
  await page.locator('#recovery-key').waitFor({ timeout: 30_000 });
  const recoveryKey = (await page.locator('#recovery-key').textContent()).trim();
  assert.match(recoveryKey, /^([0-9A-Z]{4}-){12}[0-9A-Z]{4}$/);
  if (check) await screen(page, `${name}-recovery-key`);
  await page.getByLabel('J’ai noté ma clé de secours').check();
  await page.getByRole('button', { name: 'Continuer' }).click();
  await page.locator('#shift-state').waitFor();
  return recoveryKey;
}

/**
 * Logs out and in again with a TOTP code, then unlocks with the passphrase: how every later
 * shift begins. Returns the TOTP step used.
 */
async function loginAgain(page, who, totp, name) {
  await page.getByRole('button', { name: 'Se déconnecter' }).click();
  await page.locator('#login-form').waitFor();
  const { code, step } = await freshTotp(totp.uri, totp.step);
  await login(page, who, code);
  await page.locator('#unlock-form').waitFor();
  if (name) await screen(page, `${name}-unlock`);
  await page.getByLabel('Phrase de passe', { exact: true }).fill('pas la bonne phrase');
  await page.getByRole('button', { name: 'Déverrouiller' }).click();
  await page.locator('#unlock-error').filter({ hasText: 'incorrecte' }).waitFor({ timeout: 30_000 });
  await page.getByLabel('Phrase de passe', { exact: true }).fill(passphrase);
  await page.getByRole('button', { name: 'Déverrouiller' }).click();
  await page.locator('#shift-state').waitFor({ timeout: 30_000 });
  return { uri: totp.uri, step };
}

async function startShift(page) {
  await page.getByRole('button', { name: 'Commencer la permanence' }).click();
  await page.locator('#shift-state').filter({ hasText: 'Vous êtes en permanence' }).waitFor();
}

async function stopShift(page, handover) {
  await page.getByLabel('Conversations ouvertes à la fin :').selectOption(handover);
  await page.getByRole('button', { name: 'Terminer la permanence' }).click();
  await page.locator('#shift-state').filter({ hasText: 'hors permanence' }).waitFor();
}

/** Waits until the console's debounced save of the vault has reached the server, and checks it did not fail. */
async function vaultSaved(page) {
  await page.locator('#desk[data-save="idle"]').waitFor();
  assert.equal(await page.locator('#notices').filter({ hasText: 'sauvegarde' }).count(), 0);
}

before(async () => {
  server = await startServer({ workerName: camille.username, displayName: camille.displayName });
});

after(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  await server?.stop().catch(() => {});
  server?.cleanup();
});

/** What the consoles say, for a failure's message. */
async function consolesSay() {
  const out = [];
  for (const b of browsers) {
    for (const p of b.context.pages()) {
      const text = await p.evaluate(() => [document.querySelector('#notices')?.textContent, document.querySelector('#connection-status')?.textContent]
        .filter(Boolean).join(' | ')).catch(() => '');
      if (text) out.push(`${p.url()}: ${text}`);
    }
  }
  for (const [name, log] of frameLog) out.push(`${name} frames: ${log.join(' ')}`);
  return out.join('\n');
}

test('worker console: shift, widget beneficiary, transfer, closed inbox, next shift, restore', async (top) => {
  // One scenario in steps: a failed step fails the ones after it at once (they depend on it).
  let failed = '';
  const t = {
    test: (name, fn) => top.test(name, async () => {
      assert.equal(failed, '', `an earlier step failed: ${failed}`);
      try {
        await fn();
      } catch (e) {
        failed = name;
        for (const b of browsers) for (const p of b.context.pages()) await shot(p, 'failed').catch(() => {});
        throw new Error(`${e.message}\nthe consoles say:\n${await consolesSay()}`, { cause: e });
      }
    }),
  };
  const nadiaId = addWorker(server, nadia.username, nadia.displayName, nadia.password);
  const page = await newPage('camille');
  let totp;
  let recoveryKey;
  let conversationId;

  await t.test('a wrong password is refused with a clear sentence and nothing typed is lost', async () => {
    await page.goto(`${server.origin}/console/`);
    await screen(page, 'login');
    await login(page, { ...camille, password: 'pas le bon mot de passe' });
    await page.locator('#login-error').filter({ hasText: 'incorrect' }).waitFor();
    assert.equal(await page.getByLabel('Identifiant').inputValue(), camille.username);
    await screen(page, 'login-refused');
  });

  await t.test('TOTP enrolment by QR code, then keys certified by the org key, recovery key shown once', async () => {
    await page.getByLabel('Mot de passe', { exact: true }).fill(camille.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    totp = await enrolTotp(page, 'camille', true);
    recoveryKey = await setUpKeys(page, camille, 'camille', true);
  });

  await t.test('she logs in again with a TOTP code and unlocks her keys with her passphrase', async () => {
    totp = await loginAgain(page, camille, totp, 'camille');
  });

  await t.test('off shift is said plainly; the shift starts', async () => {
    assert.match(await page.locator('#shift-state').textContent(), /hors permanence.*aucune notification/);
    await screen(page, 'desk-off');
    await startShift(page);
    await page.locator('#queue-count').filter({ hasText: 'Personne n’attend' }).waitFor();
  });

  // Nadia, a colleague with her own console and certified keys, on shift too.
  const nadiaPage = await newPage('nadia');
  await t.test('a second worker sets up her console and starts her shift', async () => {
    await login(nadiaPage, nadia);
    const nadiaTotp = await enrolTotp(nadiaPage, 'nadia', false);
    await setUpKeys(nadiaPage, nadia, 'nadia', false);
    await loginAgain(nadiaPage, nadia, nadiaTotp);
    await startShift(nadiaPage);
  });

  const widgetPage = await newPage('widget', { width: 420, height: 900 });
  await t.test('a beneficiary opens the widget and waits; the worker takes her; messages go both ways', async () => {
    await widgetPage.goto(`${server.origin}/widget/#${new URLSearchParams({ lang: 'fr', org: server.fingerprint })}`);
    await widgetPage.getByRole('button', { name: 'Commencer une discussion' }).click();
    await widgetPage.getByLabel('Votre prénom ou un pseudonyme').fill(typed.name);
    await widgetPage.getByRole('button', { name: 'Rejoindre la file d’attente' }).click();
    await widgetPage.getByRole('heading', { name: 'Vous êtes en attente' }).waitFor();
    await widgetPage.getByLabel('Votre message').fill(typed.waiting);
    await widgetPage.getByRole('button', { name: 'Envoyer' }).click();
    await shot(widgetPage, 'widget-waiting');

    await page.locator('#queue-list li').first().waitFor({ timeout: 15_000 });
    await screen(page, 'queue');
    await page.getByRole('button', { name: 'Prendre la personne suivante' }).click();
    const pane = page.locator('article.pane').first();
    await pane.waitFor();
    conversationId = Number((await pane.getAttribute('id')).replace('conversation-', ''));
    // The pre-chat answers (sealed to her, or as a first message) and the message written while waiting.
    await pane.filter({ hasText: typed.name }).waitFor({ timeout: 30_000 });
    await page.locator(`#log-${conversationId}`).filter({ hasText: typed.waiting }).waitFor();
    await widgetPage.getByRole('heading', { name: 'Discussion avec Camille' }).waitFor();

    const compose = page.locator(`#compose-${conversationId}`);
    await compose.fill(typed.reply);
    await compose.press('Enter');
    await widgetPage.getByRole('log').getByText(typed.reply).waitFor();
    await widgetPage.getByLabel('Votre message').fill(typed.second);
    await widgetPage.getByRole('button', { name: 'Envoyer' }).click();
    await page.locator(`#log-${conversationId}`).filter({ hasText: typed.second }).waitFor();
    await page.locator(`#log-${conversationId} .msg.worker .meta`).filter({ hasText: /reçu|lu/ }).first().waitFor();
    await shot(widgetPage, 'widget-chat');
    await screen(page, 'conversation');
  });

  await t.test('a private note is saved; one too long is refused and kept in the box', async () => {
    const note = page.locator(`#note-${conversationId}`);
    await note.fill('x'.repeat(4001));
    await page.locator(`#note-save-${conversationId}`).click();
    await page.locator(`#note-status-${conversationId}`).filter({ hasText: 'trop longue' }).waitFor();
    assert.equal((await note.inputValue()).length, 4001);
    await note.fill(typed.note);
    await page.locator(`#note-save-${conversationId}`).click();
    await page.locator(`#note-status-${conversationId}`).filter({ hasText: 'Note enregistrée' }).waitFor();
    await screen(page, 'note');
  });

  await t.test('a transfer to nobody is refused clearly; the transfer to Nadia, who continues', async () => {
    await page.getByLabel('Numéro de la collègue').fill('999999');
    await page.locator(`#transfer-${conversationId}`).click();
    await page.locator('#notices').filter({ hasText: 'Le transfert a été refusé' }).waitFor();
    await screen(page, 'transfer-refused');

    await page.getByLabel('Numéro de la collègue').fill(String(nadiaId));
    await page.locator(`#transfer-${conversationId}`).click();
    await page.locator(`#state-${conversationId}`).filter({ hasText: 'Conversation confiée' }).waitFor();
    // The widget checked Camille's signature over the transfer and now talks to Nadia.
    await widgetPage.getByRole('heading', { name: 'Discussion avec Nadia' }).waitFor();

    const nadiaPane = nadiaPage.locator(`#conversation-${conversationId}`);
    await nadiaPane.waitFor();
    // Nadia writes first: held until the beneficiary's first message to her opens the session.
    const compose = nadiaPage.locator(`#compose-${conversationId}`);
    await compose.fill(typed.nadiaFirst);
    await compose.press('Enter');
    await nadiaPage.locator(`#log-${conversationId} .msg.worker .meta`).filter({ hasText: 'gardé' }).waitFor();
    await screen(nadiaPage, 'nadia-transferred');
    await widgetPage.getByLabel('Votre message').fill(typed.toNadia);
    await widgetPage.getByRole('button', { name: 'Envoyer' }).click();
    await nadiaPage.locator(`#log-${conversationId}`).filter({ hasText: typed.toNadia }).waitFor();
    await widgetPage.getByRole('log').getByText(typed.nadiaFirst).waitFor();
    // Camille's history did not follow through the server, nor her note.
    assert.equal(await nadiaPane.filter({ hasText: typed.second }).count(), 0);
    assert.equal(await nadiaPage.locator(`#note-${conversationId}`).inputValue(), '');
    await shot(widgetPage, 'widget-transferred');
    await screen(nadiaPage, 'nadia-conversation');
  });

  await t.test('the conversation ends; the first worker goes off, then the second', async () => {
    await nadiaPage.locator(`#end-${conversationId}`).click();
    await nadiaPage.locator(`#state-${conversationId}`).filter({ hasText: 'Conversation terminée' }).waitFor();
    await widgetPage.getByRole('heading', { name: 'Merci d’avoir écrit' }).waitFor();
    await shot(widgetPage, 'widget-ended');
    await stopShift(page, 'end');
    await page.locator('#queue-panel').filter({ hasText: 'pendant la permanence' }).waitFor();
    await screen(page, 'desk-off-after-shift');
    await stopShift(nadiaPage, 'colleague');
    await vaultSaved(page);
  });

  let resumeCode = '';
  await t.test('a new beneficiary sees the closed screen and leaves a message; a feedback is left too', async () => {
    const closed = await newPage('widget-closed', { width: 420, height: 900 });
    await closed.goto(`${server.origin}/widget/#${new URLSearchParams({ lang: 'fr', org: server.fingerprint })}`);
    await closed.getByText('La permanence est fermée').first().waitFor();
    await shot(closed, 'widget-closed');
    // Sealed in the widget to the verified workers (CRYPTO.md §17), with a resume code to come back.
    await closed.getByRole('button', { name: 'Laisser un message' }).click();
    await closed.getByLabel('Votre message').fill(typed.inbox);
    await closed.getByRole('button', { name: 'Envoyer le message' }).click();
    await closed.getByTestId('inbox-sent').waitFor();
    await closed.getByRole('button', { name: 'Obtenir un code de reprise' }).click();
    resumeCode = await closed.getByTestId('resume-code').textContent({ timeout: 30_000 });
    assert.match(resumeCode, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    await shot(closed, 'widget-message-left');
    const other = cliBeneficiary(server, join(cliDir, 'b3'), 'b3');
    other.type(`/feedback helped ${typed.feedback}`);
    await other.waitFor((e) => e.event === 'inbox_sent', 'feedback inbox_sent');
    await other.quit();
  });

  await t.test('at the next shift the message is opened and answered, the feedback dismissed', async () => {
    await startShift(page);
    const message = page.locator('#inbox-list li.message');
    await message.filter({ hasText: typed.inbox }).waitFor({ timeout: 15_000 });
    const feedback = page.locator('#inbox-list li.feedback');
    await feedback.filter({ hasText: typed.feedback }).filter({ hasText: 'cela a aidé' }).waitFor();
    await screen(page, 'inbox');
    await feedback.getByRole('button', { name: 'Classer' }).click();
    await feedback.waitFor({ state: 'detached' });
    await message.getByRole('button', { name: 'Répondre' }).click();
    const pane = page.locator('article.pane').filter({ hasText: typed.inbox });
    await pane.waitFor();
    const id = Number((await pane.getAttribute('id')).replace('conversation-', ''));
    await page.locator(`#state-${id}`).filter({ hasText: 'message laissé' }).waitFor();
    await page.locator(`#compose-${id}`).fill(typed.answer);
    await page.locator(`#compose-${id}`).press('Enter');
    await page.locator(`#log-${id} .msg.worker .meta`).filter({ hasText: 'gardé' }).waitFor();
    await screen(page, 'inbox-answer-held');

    // She comes back on a fresh profile with her resume code (same identity): the conversation
    // is there; her first word opens the session.
    const back = await newPage('widget-back', { width: 420, height: 900 });
    await back.goto(`${server.origin}/widget/#${new URLSearchParams({ lang: 'fr', org: server.fingerprint })}`);
    await back.getByRole('button', { name: 'J’ai un code de reprise' }).click();
    await back.getByLabel('Votre code de reprise (12 caractères)').fill(resumeCode);
    await back.getByRole('button', { name: 'Reprendre' }).click();
    await back.getByRole('heading', { name: 'Discussion avec Camille' }).waitFor({ timeout: 30_000 });
    await back.getByLabel('Votre message').fill(typed.back);
    await back.keyboard.press('Enter');
    await page.locator(`#log-${id}`).filter({ hasText: typed.back }).waitFor();
    await back.getByRole('log').getByText(typed.answer).waitFor();
    await page.locator(`#log-${id} .msg.worker .meta`).filter({ hasText: /envoyé|reçu|lu/ }).waitFor();
    await shot(back, 'widget-answer');
    await screen(page, 'inbox-answered');
    await page.locator(`#end-${id}`).click();
    await stopShift(page, 'end');
    await vaultSaved(page);
  });

  await t.test('a fresh profile restores keys, history and notes with the recovery key', async () => {
    const p2 = await newPage('camille-restored');
    const { code } = await freshTotp(totp.uri, totp.step);
    await login(p2, camille, code);
    await p2.locator('#unlock-form').waitFor();
    await p2.getByRole('button', { name: /clé de secours/ }).click();
    await p2.getByLabel('Clé de secours (52 caractères)').fill(recoveryKey.toLowerCase());
    await p2.getByLabel('Phrase de passe', { exact: true }).fill('nouvel appareil, nouvelle phrase');
    await p2.getByLabel('Phrase de passe (encore)').fill('nouvel appareil, nouvelle phrase');
    await screen(p2, 'restore');
    await p2.getByRole('button', { name: 'Restaurer' }).click();
    await p2.locator('#shift-state').waitFor({ timeout: 30_000 });
    for (const summary of await p2.locator('#past-list summary').all()) await summary.click();
    const past = p2.locator('#past-list');
    for (const text of [typed.name, typed.waiting, typed.reply, typed.second, typed.note, typed.inbox, typed.answer, typed.back]) {
      await past.filter({ hasText: text }).waitFor();
    }
    await screen(p2, 'restored-desk');
  });

  await t.test('the server kept none of the typed text, notes included', async () => {
    for (const b of browsers.splice(0)) await b.close();
    await server.stop();
    const files = [...filesUnder(server.data), ...filesUnder(server.dir).filter((f) => f.path.endsWith('.log'))];
    assert.ok(files.some((f) => f.path.endsWith('.db')), 'the store was scanned');
    const output = server.lines.join('\n');
    for (const [what, text] of Object.entries(typed)) {
      const needle = /canari \w+|\w+-c4n4/.exec(text)[0];
      for (const f of files) assert.equal(f.bytes.includes(Buffer.from(needle)), false, `${what} found in ${f.path}`);
      assert.equal(output.includes(needle), false, `${what} in relaisd's output`);
    }
    server.cleanup();
    server = undefined;
  });
});
