// The worker console in Debian's chromium against a real relaisd, with relais-cli playing the
// beneficiary (issue 9 "Done when"), run by ctest as e2e.console.scenario:
// login with TOTP enrolment, first-run keys certified by the org key, shift, queue, take,
// messages both ways, private note, end, off shift, restore on a fresh profile with the
// recovery key (history and note back), axe-core on every screen, and no typed text in the
// server's data folder or log.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { axeViolations, beneficiary, clientWeb, currentStep, freshTotp, newBrowser, run, relaisCli, screenshot, startServer, tempDir, totpAt } from './support.mjs';

const webRoot = process.env.CONSOLE_WEB_ROOT ?? path.join(clientWeb, 'console/dist');
const camille = { username: 'camille', displayName: 'Camille', password: 'une phrase de passe du test 1' };
const passphrase = 'coffre de Camille, phrase longue';
const typed = {
  first: 'Bonjour, je voudrais parler à quelqu’un (texte canari 7f3a)',
  reply: 'Je vous écoute, prenez votre temps (texte canari 91bc)',
  second: 'Merci, ça me fait du bien (texte canari 44d2)',
  note: 'Note privée : rappeler jeudi (texte canari c0de)',
};

const dir = tempDir('relais-console-e2e-');
let server;
let browsers = [];
let totpUri = '';
let lastStep = 0;
let recoveryKey = '';
let conversationId = 0;

async function expectAccessible(page, screen) {
  await screenshot(page, screen);
  const violations = await axeViolations(page);
  assert.deepEqual(violations, [], `${screen}: ${JSON.stringify(violations)}`);
}

async function login(page, password, code) {
  await page.goto(`${server.url}/console/`);
  await page.getByLabel('Identifiant').fill(camille.username);
  await page.getByLabel('Mot de passe', { exact: true }).fill(password);
  if (code) await page.getByLabel('Code à 6 chiffres').fill(code);
  await page.getByRole('button', { name: 'Se connecter' }).click();
}

before(async () => {
  server = await startServer({ dir, webRoot, workers: [camille] });
});

after(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  await server?.stop();
});

test('worker console, browser to browser', async (t) => {
  const browser = await newBrowser('camille');
  browsers.push(browser);
  const page = await browser.newPage();
  page.on('dialog', (d) => void d.accept());

  await t.test('a wrong password is refused with a clear sentence and nothing typed is lost', async () => {
    await login(page, 'pas le bon mot de passe');
    await page.locator('#login-error').filter({ hasText: 'incorrect' }).waitFor();
    assert.equal(await page.getByLabel('Identifiant').inputValue(), camille.username);
    await expectAccessible(page, 'login-refused');
  });

  await t.test('TOTP enrolment shows the QR code, the key as text and the otpauth link', async () => {
    await page.getByLabel('Mot de passe', { exact: true }).fill(camille.password);
    await page.getByRole('button', { name: 'Se connecter' }).click();
    await page.locator('#totp-uri').waitFor();
    totpUri = await page.locator('#totp-uri').getAttribute('href');
    assert.match(totpUri, /^otpauth:\/\/totp\//);
    const secret = (await page.locator('#totp-secret').textContent()).replace(/ /g, '');
    assert.equal(secret, new URL(totpUri).searchParams.get('secret'));
    // The QR code is an image named by its caption; the key stays written out beside it.
    const qr = page.getByRole('img', { name: 'QR code à scanner' });
    assert.equal(await qr.count(), 1);
    assert.ok((await qr.locator('path').getAttribute('d')).length > 100);
    await expectAccessible(page, 'totp-enrolment');
    await page.getByLabel('Code à 6 chiffres').fill(totpAt(totpUri, currentStep() - 5));
    await page.getByRole('button', { name: 'Activer' }).click();
    await page.locator('#totp-error').filter({ hasText: 'incorrect' }).waitFor();
    lastStep = currentStep();
    await page.getByLabel('Code à 6 chiffres').fill(totpAt(totpUri, lastStep));
    await page.getByRole('button', { name: 'Activer' }).click();
    await page.locator('#setup-identity-key').waitFor();
  });

  await t.test('first-run keys: the admin certifies the identity key, the recovery key is shown once', async () => {
    const ik = (await page.locator('#setup-identity-key').textContent()).trim();
    assert.match(await page.locator('#setup-command').textContent(), new RegExp(`--identity-key ${ik}`));
    await expectAccessible(page, 'key-setup');
    const certificate = run(relaisCli, ['org', 'certify', '--org-key', server.orgKeyFile, '--identity-key', ik, '--name', camille.displayName]).trim();
    await page.getByLabel('Certificat reçu').fill('pas un certificat');
    await page.getByLabel('Phrase de passe', { exact: true }).fill(passphrase);
    await page.getByLabel('Phrase de passe (encore)').fill(passphrase);
    await page.getByRole('button', { name: 'Créer mes clés' }).click();
    await page.locator('#setup-error').filter({ hasText: 'certificat' }).waitFor();
    await page.getByLabel('Certificat reçu').fill(certificate);
    await page.getByRole('button', { name: 'Créer mes clés' }).click();
    await page.locator('#recovery-key').waitFor({ timeout: 30_000 }).catch(async (e) => {
      throw new Error(`no recovery key; the console says: ${await page.locator('#setup-error').textContent()} (identity key ${ik}, shown now ${await page.locator('#setup-identity-key').textContent()}, certificate ${certificate}, box ${JSON.stringify(await page.getByLabel('Certificat reçu').inputValue())})`, { cause: e });
    });
    recoveryKey = (await page.locator('#recovery-key').textContent()).trim();
    assert.match(recoveryKey, /^([0-9A-Z]{4}-){12}[0-9A-Z]{4}$/);
    await expectAccessible(page, 'recovery-key');
    await page.getByLabel('J’ai noté ma clé de secours').check();
    await page.getByRole('button', { name: 'Continuer' }).click();
    await page.locator('#shift-state').waitFor();
  });

  await t.test('off shift is said plainly; starting the shift shows the queue', async () => {
    assert.match(await page.locator('#shift-state').textContent(), /hors permanence.*aucune notification/);
    await expectAccessible(page, 'desk-off');
    await page.getByRole('button', { name: 'Commencer la permanence' }).click();
    await page.locator('#shift-state').filter({ hasText: 'Vous êtes en permanence' }).waitFor();
    await page.locator('#queue-count').filter({ hasText: 'Personne n’attend' }).waitFor();
  });

  const ben = beneficiary(server, dir, 'b1');
  await t.test('a beneficiary waits; the worker takes them; messages go both ways', async () => {
    ben.type('/join');
    await ben.waitFor((e) => e.event === 'queued', 'queued');
    await page.locator('#queue-list li').first().waitFor({ timeout: 15_000 });
    await expectAccessible(page, 'queue');
    await page.getByRole('button', { name: 'Prendre la personne suivante' }).click();
    const pane = page.locator('article.pane').first();
    await pane.waitFor();
    conversationId = Number((await pane.getAttribute('id')).replace('conversation-', ''));
    await ben.waitFor((e) => e.event === 'secured', 'secured');
    ben.type(typed.first);
    await page.locator(`#log-${conversationId}`).filter({ hasText: typed.first }).waitFor();
    const compose = page.locator(`#compose-${conversationId}`);
    await compose.fill(typed.reply);
    await compose.press('Enter');
    await ben.waitFor((e) => e.event === 'message' && e.text === typed.reply, 'the reply');
    ben.type(typed.second);
    await page.locator(`#log-${conversationId}`).filter({ hasText: typed.second }).waitFor();
    await page.locator(`#log-${conversationId} .msg.worker .meta`).filter({ hasText: /reçu|lu/ }).first().waitFor();
    await expectAccessible(page, 'conversation');
  });

  await t.test('a private note is saved, a note too long is refused and kept in the box', async () => {
    const note = page.locator(`#note-${conversationId}`);
    await note.fill('x'.repeat(4001));
    await page.locator(`#note-save-${conversationId}`).click();
    await page.locator(`#note-status-${conversationId}`).filter({ hasText: 'trop longue' }).waitFor();
    assert.equal((await note.inputValue()).length, 4001);
    await note.fill(typed.note);
    await page.locator(`#note-save-${conversationId}`).click();
    await page.locator(`#note-status-${conversationId}`).filter({ hasText: 'Note enregistrée' }).waitFor();
  });

  await t.test('the conversation ends; the worker goes off', async () => {
    await page.locator(`#end-${conversationId}`).click();
    await page.locator(`#state-${conversationId}`).filter({ hasText: 'Conversation terminée' }).waitFor();
    await ben.waitFor((e) => e.event === 'ended', 'ended');
    await page.getByRole('button', { name: 'Terminer la permanence' }).click();
    await page.locator('#shift-state').filter({ hasText: 'hors permanence' }).waitFor();
    await page.locator('#queue-panel').filter({ hasText: 'pendant la permanence' }).waitFor();
    await expectAccessible(page, 'desk-ended-off');
    // Let the debounced save of the vault reach the server before the browser closes.
    await page.waitForFunction(() => !document.querySelector('#notices')?.textContent?.includes('sauvegarde'));
    await ben.quit();
  });

  await t.test('a fresh profile restores keys, history and notes with the recovery key', async () => {
    const fresh = await newBrowser('camille-restored');
    browsers.push(fresh);
    const p2 = await fresh.newPage();
    const { code, step } = await freshTotp(totpUri, lastStep);
    lastStep = step;
    await login(p2, camille.password, code);
    await p2.locator('#unlock-form').waitFor();
    await expectAccessible(p2, 'unlock');
    await p2.getByRole('button', { name: /clé de secours/ }).click();
    await p2.getByLabel('Clé de secours (52 caractères)').fill(recoveryKey.toLowerCase());
    await p2.getByLabel('Phrase de passe', { exact: true }).fill('nouvel appareil, nouvelle phrase');
    await p2.getByLabel('Phrase de passe (encore)').fill('nouvel appareil, nouvelle phrase');
    await expectAccessible(p2, 'restore');
    await p2.getByRole('button', { name: 'Restaurer' }).click();
    await p2.locator('#shift-state').waitFor({ timeout: 30_000 });
    const past = p2.locator(`#past-${conversationId}`);
    await past.locator('summary').click();
    for (const text of [typed.first, typed.reply, typed.second, typed.note]) await past.filter({ hasText: text }).waitFor();
    await expectAccessible(p2, 'restored-desk');
  });

  await t.test('the server kept none of the typed text, notes included', async () => {
    await server.stop();
    server = undefined;
    const files = [];
    const walk = (d) => {
      for (const name of readdirSync(d)) {
        const f = path.join(d, name);
        if (statSync(f).isDirectory()) walk(f);
        else files.push(f);
      }
    };
    walk(path.join(dir, 'data'));
    files.push(path.join(dir, 'relaisd.log'));
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const [what, text] of Object.entries(typed)) {
        const needle = text.match(/canari \w+/)[0];
        assert.equal(bytes.includes(Buffer.from(needle)), false, `${what} found in ${f}`);
      }
    }
  });
});
