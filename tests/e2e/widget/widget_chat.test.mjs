// The beneficiary's widget end to end in Debian's chromium against a real relaisd, relais-cli
// playing the worker. The main flow is the embedded one: the worker's own website (another
// origin, a plain HTTP server of this test) carries the one snippet with its SRI hash; before the
// launcher is opened the site gets nothing from relaisd but the loader, and no cookie, storage or
// socket; opened, the widget runs in its iframe: status, pre-chat (urgent), writing while
// waiting, the worker takes them and reads the pre-chat (sealed to her keys, with the call-back
// number), messages both ways, safety numbers match, the worker ends, the feedback reaches her
// inbox sealed, quick exit from inside the frame. Then the resume code on a fresh profile; quick exit
// of the page opened on its own; a wrong pinned fingerprint; and no typed text on the server's
// disk. A screenshot of each step goes to $RELAIS_E2E_ARTIFACTS/<suite>/.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  axeViolations, closeBrowsers, ed25519PublicFromSeed, embedSnippet, filesUnder, launchBrowser, loaderInfo, safetyNumberOf, screenshots,
  startHostSite, startServer, widgetFrame,
} from '../harness/harness.mjs';

const neutral = 'https://neutral.example/';
const phone = '06 45 78 12 90';
const comment = 'Très utile, merci Camille';
let server;
let site;

before(async () => {
  site = await startHostSite();
  server = await startServer({ extraConfig: `[server]\nallowed_origins = ["${site.origin}"]\n` });
});
after(async () => {
  await closeBrowsers();
  await server?.stop();
  server?.cleanup();
  await site?.close();
});

/** The widget page opened on its own (not embedded). */
function widgetUrl(fingerprint = server.fingerprint, lang = 'fr') {
  const fragment = new URLSearchParams({ lang, org: fingerprint, exit: neutral });
  return `${server.origin}/widget/#${fragment}`;
}

async function routeNeutral(context) {
  await context.route('https://neutral.example/**', (route) =>
    route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Neutral</title><p>Météo</p>' }));
}

/** The quick-exit button is the first element reached by Tab (no positive tabindex anywhere). */
async function expectExitFirstInTabOrder(target) {
  const first = await target.evaluate(() => {
    const all = [...document.querySelectorAll('button, a[href], input, textarea, select, [tabindex]')]
      .filter((e) => !e.disabled && e.getAttribute('tabindex') !== '-1' && e.offsetParent !== null);
    if (all.some((e) => Number(e.getAttribute('tabindex')) > 0)) return 'positive tabindex';
    return all[0]?.textContent;
  });
  assert.equal(first, 'Quitter rapidement');
}

async function expectNoSeriousViolations(target, where) {
  const v = await axeViolations(target);
  assert.deepEqual(v, [], `${where}: ${JSON.stringify(v, null, 1)}`);
}

/** axe at 360 and 1280 px wide, in normal and large text (the widget's switch), in `target` (page or frame). */
async function checkAccessibility(page, where, target = page) {
  const size = page.viewportSize();
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    for (const large of [false, true]) {
      const toggle = target.getByRole('button', { name: /Texte agrandi|Larger text/ });
      if ((await toggle.getAttribute('aria-pressed')) !== String(large)) await toggle.click();
      await expectNoSeriousViolations(target, `${where} at ${width}px${large ? ', large text' : ''}`);
    }
    const toggle = target.getByRole('button', { name: /Texte agrandi|Larger text/ });
    if ((await toggle.getAttribute('aria-pressed')) === 'true') await toggle.click();
  }
  await page.setViewportSize(size);
}

/** Cookies, every storage and the globals of the page's main frame. */
async function hostTraces(page) {
  return page.evaluate(async () => ({
    cookie: document.cookie,
    local: localStorage.length,
    session: sessionStorage.length,
    idb: (await indexedDB.databases()).length,
    caches: (await caches.keys()).length,
    globals: Object.getOwnPropertyNames(window),
  }));
}

test('embedded on the worker’s site: nothing before opening, then the whole chat in the frame; resume on a fresh profile', async () => {
  const shot = screenshots('widget_chat');
  await server.publishKeys('worker-1');
  const worker = server.worker('worker-1');
  worker.type('/shift on');
  await worker.waitEvent('shift', (e) => e.state === 'on');

  const loader = loaderInfo();
  assert.match(loader.integrity, /^sha384-[A-Za-z0-9+/]{64}$/);
  const hostUrl = site.page('/', embedSnippet({ server: server.origin, fingerprint: server.fingerprint, exit: neutral }));
  const plainUrl = site.page('/plain', '');
  const tamperedUrl = site.page('/tampered', embedSnippet({
    server: server.origin, fingerprint: server.fingerprint, integrity: `sha384-${'A'.repeat(64)}`,
  }));

  const browser = await launchBrowser();
  await routeNeutral(browser.context);
  const page = await browser.context.newPage();
  const toRelais = [];
  const sockets = [];
  page.on('request', (r) => { if (r.url().startsWith(server.origin)) toRelais.push(r.url()); });
  page.on('websocket', (w) => sockets.push(w.url()));

  // A loader whose bytes do not match the snippet's hash is not run (SRI).
  await page.goto(tamperedUrl);
  assert.equal(await page.evaluate(() => document.body.lastElementChild?.tagName), 'SCRIPT');
  // The same site without the snippet: its globals, to compare with.
  await page.goto(plainUrl);
  const plain = await hostTraces(page);

  // The snippet: until the launcher is opened, the host page got the loader and nothing else.
  toRelais.length = 0;
  await page.goto(hostUrl); // resolves at `load`, after the async loader ran
  await page.waitForFunction(() => document.body.lastElementChild?.tagName === 'DIV');
  const before = await hostTraces(page);
  assert.deepEqual({ ...before, globals: undefined }, { cookie: '', local: 0, session: 0, idb: 0, caches: 0, globals: undefined });
  assert.deepEqual(before.globals.filter((g) => !plain.globals.includes(g)), [], 'the loader leaked a global');
  assert.deepEqual(await browser.context.cookies(), []);
  assert.deepEqual(toRelais, [`${server.origin}/widget/loader.js`]);
  assert.deepEqual(sockets, []);
  assert.equal(page.frames().length, 1);
  assert.deepEqual(site.requests.filter((r) => r !== '/' && r !== '/plain' && r !== '/tampered'), []);
  await shot(page, 'host-page');
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    await expectNoSeriousViolations(page, `host page at ${width}px`);
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // The launcher, by keyboard: after the page's one link, Tab reaches it (in its closed shadow root).
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement === document.body.lastElementChild), true);
  await page.keyboard.press('Enter');
  const w = await widgetFrame(page, server.origin);

  // Status: open, quick exit first in the tab order.
  await w.getByText(/Nous sommes là|Vous pouvez commencer/).waitFor();
  assert.equal(await w.title(), 'Informations');
  await expectExitFirstInTabOrder(w);
  await shot(page, 'status');
  await checkAccessibility(page, 'status', w);

  await w.getByRole('button', { name: 'Commencer une discussion' }).click();
  await w.getByRole('heading', { name: 'Avant de commencer' }).waitFor();
  await w.getByLabel('Votre prénom ou un pseudonyme').fill('Anastasia');
  await w.getByLabel('Oui, c’est urgent').check();
  await w.getByLabel('Être rappelé·e').check();
  await w.getByLabel('Votre numéro de téléphone').fill(phone);
  await shot(page, 'prechat');
  await checkAccessibility(page, 'prechat', w);
  await w.getByRole('button', { name: 'Rejoindre la file d’attente' }).click();

  // Waiting: position, and a first message written before anyone answers.
  await w.getByRole('heading', { name: 'Vous êtes en attente' }).waitFor();
  await w.getByText(/Vous êtes la prochaine personne|Votre place dans la file/).waitFor();
  await w.getByLabel('Votre message').fill('Bonjour, je voudrais parler à quelqu’un');
  await w.getByRole('button', { name: 'Envoyer' }).click();
  await w.getByText('Bonjour, je voudrais parler à quelqu’un').waitFor();
  await shot(page, 'waiting');
  await checkAccessibility(page, 'waiting', w);

  worker.type('/take');
  const assigned = await worker.waitEvent('assigned');
  assert.equal(assigned.urgent, true);
  // The pre-chat answers came sealed with queue.join (CRYPTO.md §17), opened with the worker's
  // signed prekey on take; then the message written while waiting, decrypted.
  const prechat = await worker.waitEvent('prechat');
  assert.equal(prechat.kind, 'prechat');
  assert.equal(prechat.text, `Prénom : Anastasia · Urgent · Souhaite être rappelé·e au ${phone}`);
  const firstMessage = await worker.waitEvent('message');
  assert.equal(firstMessage.text, 'Bonjour, je voudrais parler à quelqu’un');
  await w.getByRole('heading', { name: 'Discussion avec Camille' }).waitFor();
  await w.getByText('Professionnelle vérifiée').waitFor();

  worker.type('Bonjour, je suis Camille. Je vous écoute.');
  await w.getByRole('log').getByText('Bonjour, je suis Camille. Je vous écoute.').waitFor();
  await w.getByLabel('Votre message').fill('Merci, ça me rassure');
  await page.keyboard.press('Enter');
  await worker.waitEvent('message', (e) => e.text === 'Merci, ça me rassure');
  await w.locator('[data-status="read"], [data-status="delivered"]').first().waitFor();

  // The safety number shown equals the one computed from both identity keys.
  await w.getByRole('button', { name: 'Vérifier le chiffrement' }).click();
  const shown = await w.getByTestId('safety-number').textContent();
  const workerState = JSON.parse(readFileSync(`${server.dir}/worker-1/state.json`, 'utf8'));
  const workerIdentity = await ed25519PublicFromSeed(workerState.identity_seed);
  assert.equal(shown, safetyNumberOf(assigned.beneficiary_key, workerIdentity));
  await shot(page, 'chat');
  await checkAccessibility(page, 'chat', w);

  // A resume code, then the worker ends; feedback.
  await w.getByRole('button', { name: 'Obtenir un code de reprise' }).click();
  const code = await w.getByTestId('resume-code').textContent({ timeout: 30_000 });
  assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  await shot(page, 'resume-code');
  worker.type('Un dernier mot avant de terminer');
  await w.getByRole('log').getByText('Un dernier mot avant de terminer').waitFor();
  // Give the debounced backup time to include the last message (it is written after each change).
  await page.waitForTimeout(1500);
  worker.type('/end');
  await w.getByRole('heading', { name: 'Merci d’avoir écrit' }).waitFor();
  await w.getByRole('button', { name: 'Oui', exact: true }).click();
  await w.getByLabel('Un commentaire (facultatif)').fill(comment);
  await shot(page, 'ended');
  await checkAccessibility(page, 'ended', w);
  await w.getByRole('button', { name: 'Envoyer mon avis' }).click();
  await w.getByText('Merci pour votre retour.').waitFor().catch(async (e) => {
    console.log('# the frame shows:', await w.evaluate(() => document.body.innerText)); // what went wrong instead
    throw e;
  });
  // The feedback is an inbox entry sealed to the workers (CRYPTO.md §17.8).
  worker.type('/inbox list');
  const listed = await worker.waitEvent('inbox', (e) => e.items.length === 1);
  assert.equal(listed.items[0].beneficiary_key, assigned.beneficiary_key);
  worker.type(`/inbox open ${listed.items[0].inbox_id}`);
  const feedback = await worker.waitEvent('inbox_message');
  assert.deepEqual([feedback.kind, feedback.rating, feedback.text], ['feedback', 'helped', comment]);
  await shot(page, 'feedback-sent');

  // Quick exit from inside the frame: the host page itself leaves for the neutral page.
  await w.getByRole('button', { name: 'Quitter rapidement' }).click();
  await page.waitForURL(neutral);
  const back = await page.goBack().catch(() => null);
  assert.notEqual(back?.url(), hostUrl, 'Back returned to the site with the widget');
  const state = await browser.context.storageState();
  assert.deepEqual(state.cookies, []);
  assert.deepEqual(state.origins, []);
  await browser.close();

  // A fresh profile: the resume code brings the conversation back.
  const fresh = await launchBrowser({ width: 360, height: 800 });
  const page2 = await fresh.context.newPage();
  await page2.goto(widgetUrl());
  await page2.getByRole('button', { name: 'J’ai un code de reprise' }).click();
  await page2.getByLabel('Votre code de reprise (12 caractères)').fill(code.toLowerCase());
  await shot(page2, 'resume-enter');
  await checkAccessibility(page2, 'resume');
  await page2.getByRole('button', { name: 'Reprendre' }).click();
  await page2.getByText('Bonjour, je suis Camille. Je vous écoute.').waitFor({ timeout: 30_000 });
  await page2.getByText('Merci, ça me rassure').waitFor();
  await shot(page2, 'resumed');
  // Nothing in any storage of this profile.
  const state2 = await fresh.context.storageState();
  assert.deepEqual(state2.cookies, []);
  assert.deepEqual(state2.origins, []);
  await fresh.close();
  await worker.stop();

  // The server's data folder and logs hold none of the typed text.
  await server.stop();
  const typed = ['je voudrais parler', 'Je vous écoute', 'ça me rassure', 'Un dernier mot', 'Anastasia', phone, comment];
  for (const f of [...filesUnder(server.data), ...filesUnder(server.dir).filter((x) => x.path.endsWith('.log'))]) {
    for (const t of typed) assert.equal(f.bytes.includes(Buffer.from(t)), false, `${t} found in ${f.path}`);
  }
  const logText = server.lines.join('\n');
  for (const t of typed) assert.equal(logText.includes(t), false, `${t} in relaisd's output`);
  server = await startServer({ extraConfig: `[server]\nallowed_origins = ["${site.origin}"]\n` }); // for the next tests
});

test('quick exit by button and by Shift×3 leaves for the neutral page, without history or storage', async () => {
  const shot = screenshots('widget_exit');
  const browser = await launchBrowser({ width: 360, height: 800 });
  await routeNeutral(browser.context);
  for (const how of ['button', 'shift']) {
    const page = await browser.context.newPage();
    const other = await browser.context.newPage();
    await other.goto(widgetUrl());
    await page.goto(widgetUrl());
    await page.getByText(/Nous sommes là|La permanence est fermée|Vous pouvez commencer/).waitFor();
    await page.getByRole('button', { name: 'J’ai un code de reprise' }).click();
    await page.getByLabel('Votre code de reprise (12 caractères)').fill('texte tapé');
    await shot(page, `before-${how}`);
    const started = Date.now();
    if (how === 'button') {
      await page.getByRole('button', { name: 'Quitter rapidement' }).click();
    } else {
      await page.keyboard.press('Shift');
      await page.keyboard.press('Shift');
      await page.keyboard.press('Shift');
    }
    await page.waitForURL(neutral);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 1500, `exit took ${elapsed} ms`); // 300 ms in the page; the rest is the test driver
    await shot(page, `after-${how}`);
    // Back does not return to the widget.
    const back = await page.goBack().catch(() => null);
    assert.notEqual(back?.url()?.startsWith(server.origin), true, 'Back returned to the widget');
    assert.equal(page.url().startsWith(server.origin), false);
    // The other tab was told and left too.
    await other.waitForURL(neutral);
    const state = await browser.context.storageState();
    assert.deepEqual(state.cookies, []);
    assert.deepEqual(state.origins, []);
    await page.close();
    await other.close();
  }
  await browser.close();
});

test('a wrong pinned organisation fingerprint is refused with a warning and nothing is sent', async () => {
  const shot = screenshots('widget_fingerprint');
  const worker = server.worker('worker-fp');
  worker.type('/shift on');
  await worker.waitEvent('shift');
  await worker.waitEvent('keys_published');
  const browser = await launchBrowser();
  const page = await browser.context.newPage();
  await page.goto(widgetUrl('A'.repeat(43)));
  await page.getByRole('button', { name: 'Commencer une discussion' }).click();
  await page.getByRole('button', { name: 'Rejoindre la file d’attente' }).click();
  await page.getByLabel('Votre message').fill('ceci ne doit pas partir');
  await page.getByRole('button', { name: 'Envoyer' }).click();
  worker.type('/take');
  await worker.waitEvent('assigned');
  await page.getByTestId('untrusted').waitFor();
  assert.match(await page.getByTestId('untrusted').textContent(), /n’a pas pu être vérifié/);
  await shot(page, 'refused');
  await checkAccessibility(page, 'refused');
  await page.waitForTimeout(500);
  assert.equal(worker.events().some((e) => e.event === 'message'), false);
  await browser.close();
  await worker.stop();
});
