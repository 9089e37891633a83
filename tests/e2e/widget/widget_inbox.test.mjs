// The closed-hours inbox end to end in Debian's chromium against a real relaisd, relais-cli
// playing the worker: nobody on call, the closed screen with the emergency numbers, a message
// left (sealed to the worker's keys) and a resume code; at her next shift the worker lists and
// opens it (the typed text), answers and writes; the person comes back on a fresh profile with
// the code, writes first (a worker cannot start the encrypted session), and reads the answer.
// Neither text is on the server's disk. Screenshots in $RELAIS_E2E_ARTIFACTS/widget_inbox/.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { axeViolations, closeBrowsers, filesUnder, launchBrowser, screenshots, startServer } from '../harness/harness.mjs';

let server;
let running = false;
before(async () => {
  server = await startServer();
  running = true;
});
after(async () => {
  await closeBrowsers();
  if (running) await server?.stop();
  server?.cleanup();
});

function widgetUrl() {
  const fragment = new URLSearchParams({ lang: 'fr', org: server.fingerprint, exit: 'https://neutral.example/' });
  return `${server.origin}/widget/#${fragment}`;
}

async function expectNoSeriousViolations(page, where) {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    for (const large of [false, true]) {
      const toggle = page.getByRole('button', { name: 'Texte agrandi' });
      if ((await toggle.getAttribute('aria-pressed')) !== String(large)) await toggle.click();
      const v = await axeViolations(page);
      assert.deepEqual(v, [], `${where} at ${width}px${large ? ', large text' : ''}: ${JSON.stringify(v, null, 1)}`);
    }
    await page.getByRole('button', { name: 'Texte agrandi' }).click();
  }
  await page.setViewportSize({ width: 360, height: 800 });
}

test('a message left while closed is read and answered at the next shift; the person reads the answer with her resume code', async () => {
  const shot = screenshots('widget_inbox');
  const left = 'Bonsoir, pouvez-vous me rappeler demain matin ? C’est pour ma voisine Hortense.';
  const answer = 'Bonjour, ici Camille. J’ai bien lu votre message au sujet d’Hortense.';

  // The worker's device published its keys, then went away: nobody is on call.
  await server.publishKeys('worker-inbox');
  const again = server.worker('worker-inbox');
  await again.waitEvent('authenticated');
  await again.stop();

  const browser = await launchBrowser({ width: 360, height: 800 });
  const page = await browser.context.newPage();
  await page.goto(widgetUrl());
  await page.getByText('La permanence est fermée pour le moment.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Commencer une discussion' }).count(), 0);
  await page.getByRole('region', { name: 'En cas d’urgence' }).getByText('3114', { exact: true }).waitFor();
  await shot(page, 'closed');
  await expectNoSeriousViolations(page, 'closed');

  await page.getByRole('button', { name: 'Laisser un message' }).click();
  await page.getByRole('heading', { name: 'Laisser un message' }).waitFor();
  await page.getByRole('button', { name: 'Envoyer le message' }).click();
  await page.getByText('Écrivez votre message avant de l’envoyer.').waitFor();
  await page.getByLabel('Votre message').fill(left);
  await shot(page, 'inbox');
  await expectNoSeriousViolations(page, 'inbox');
  await page.getByRole('button', { name: 'Envoyer le message' }).click();
  await page.getByTestId('inbox-sent').waitFor();
  await page.getByRole('button', { name: 'Obtenir un code de reprise' }).click();
  const code = await page.getByTestId('resume-code').textContent({ timeout: 30_000 });
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await shot(page, 'inbox-sent');
  await expectNoSeriousViolations(page, 'inbox sent');
  await browser.close();

  // The next shift: the same device lists, opens, answers and writes (held until she writes).
  const worker = server.worker('worker-inbox');
  worker.type('/shift on');
  await worker.waitEvent('shift', (e) => e.state === 'on');
  worker.type('/inbox list');
  const listed = await worker.waitEvent('inbox', (e) => e.items.length === 1);
  const inboxId = listed.items[0].inbox_id;
  worker.type(`/inbox open ${inboxId}`);
  const opened = await worker.waitEvent('inbox_message');
  assert.deepEqual([opened.kind, opened.text], ['message', left]);
  worker.type(`/inbox answer ${inboxId}`);
  const assigned = await worker.waitEvent('assigned', (e) => e.inbox_id === inboxId);
  assert.equal(assigned.beneficiary_key, listed.items[0].beneficiary_key);
  worker.type(answer);

  // She comes back on another device with the code.
  const fresh = await launchBrowser({ width: 360, height: 800 });
  const page2 = await fresh.context.newPage();
  await page2.goto(widgetUrl());
  await page2.getByRole('button', { name: 'J’ai un code de reprise' }).click();
  await page2.getByLabel('Votre code de reprise (12 caractères)').fill(code);
  await page2.getByRole('button', { name: 'Reprendre' }).click();
  await page2.getByRole('heading', { name: 'Discussion avec Camille' }).waitFor({ timeout: 30_000 });
  await page2.getByText('Professionnelle vérifiée').waitFor();
  await page2.getByText(/Écrivez un premier message/).waitFor();
  await shot(page2, 'back');
  await page2.getByLabel('Votre message').fill('Merci de m’avoir répondu, je suis là.');
  await page2.keyboard.press('Enter');
  await worker.waitEvent('message', (e) => e.text === 'Merci de m’avoir répondu, je suis là.');
  await page2.getByRole('log').getByText(answer).waitFor();
  await shot(page2, 'answer');
  await expectNoSeriousViolations(page2, 'answer');
  const state = await fresh.context.storageState();
  assert.deepEqual(state.cookies, []);
  assert.deepEqual(state.origins, []);
  await fresh.close();
  await worker.stop();

  await server.stop();
  running = false;
  const typed = ['ma voisine Hortense', 'au sujet d’Hortense', 'je suis là.'];
  for (const f of filesUnder(server.data)) {
    for (const t of typed) assert.equal(f.bytes.includes(Buffer.from(t)), false, `${t} found in ${f.path}`);
  }
  for (const t of typed) assert.equal(server.lines.join('\n').includes(t), false, `${t} in relaisd's output`);
});
