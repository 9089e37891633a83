/**
 * The Relais widget loader, included by the embed snippet on the host page:
 *   <script async src="https://relais.example/widget/loader.js" integrity="sha384-…"
 *     crossorigin="anonymous" data-relais-server="https://relais.example"
 *     data-relais-lang="fr" data-relais-org="<org fingerprint>"></script>
 * Until the person opens it, it adds one launcher button (in a closed shadow root, so that no
 * style leaks either way) and nothing else: no cookie, no storage, no socket, no request. On
 * open it adds an iframe of relaisd's /widget/ page; the widget talks to the server from that
 * origin. Messages from the iframe are accepted only from that origin and that frame; quick
 * exit replaces this page with a neutral one (location.replace: Back does not return) and
 * tells the host's other tabs. No global is defined.
 */
import { ShiftTripleDetector } from './shift_exit.js';

// Mirrors the catalogue keys launcher.open / launcher.close / app.title (checked by a test), so
// that the loader does not carry the whole catalogue.
export const loaderStrings = {
  fr: { open: 'Besoin de parler ? Écrivez-nous', close: 'Fermer la fenêtre de discussion', title: 'Permanence d’écoute' },
  en: { open: 'Need to talk? Write to us', close: 'Close the chat window', title: 'Listening line' },
} as const;

const css = `
:host { all: initial; }
.launcher { position: fixed; right: 16px; bottom: 16px; z-index: 2147483646; min-height: 48px; min-width: 48px;
  padding: 12px 20px; border: 2px solid #1d3557; border-radius: 24px; background: #1d3557; color: #fff;
  font: 600 17px/1.3 system-ui, sans-serif; cursor: pointer; box-shadow: 0 2px 8px rgba(0,0,0,.25); }
.launcher:focus-visible { outline: 3px solid #ffbf47; outline-offset: 3px; }
.frame { position: fixed; right: 16px; bottom: 80px; z-index: 2147483647; width: 400px; height: min(680px, calc(100vh - 96px));
  border: 1px solid #555; border-radius: 12px; background: #fff; box-shadow: 0 4px 24px rgba(0,0,0,.3); }
@media (max-width: 480px) { .frame { inset: 0; width: 100%; height: 100%; border-radius: 0; border: 0; } }
.hidden { display: none; }
`;

interface LoaderConfig {
  server: string;
  lang: 'fr' | 'en';
  org: string;
  exit: string;
}

function readConfig(script: HTMLScriptElement): LoaderConfig | null {
  const serverAttr = script.dataset.relaisServer ?? new URL(script.src).origin;
  let server: string;
  try {
    server = new URL(serverAttr).origin;
  } catch {
    return null;
  }
  const lang = /^en\b/i.test(script.dataset.relaisLang ?? '') ? 'en' : 'fr';
  return { server, lang, org: script.dataset.relaisOrg ?? '', exit: script.dataset.relaisExit ?? 'https://www.google.fr/' };
}

const exitChannel = 'relais-quick-exit';

function start(script: HTMLScriptElement): void {
  const config = readConfig(script);
  if (!config) return;
  const s = loaderStrings[config.lang];
  const holder = document.createElement('div');
  const root = holder.attachShadow({ mode: 'closed' });
  const style = document.createElement('style');
  style.textContent = css;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'launcher';
  button.textContent = s.open;
  button.setAttribute('aria-expanded', 'false');
  root.append(style, button);
  document.body.appendChild(holder);

  let frame: HTMLIFrameElement | null = null;
  const detector = new ShiftTripleDetector();
  // Every tab of this site leaves when one of them exits: the site itself may be what must not
  // be seen. A BroadcastChannel stores nothing.
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(exitChannel) : null;
  if (channel) channel.onmessage = () => exit();

  const exit = () => {
    // First leave, then clean up: the neutral page must replace this one within 300 ms.
    channel?.postMessage('exit');
    location.replace(config.exit);
    frame?.remove();
    frame = null;
  };
  const onKey = (e: KeyboardEvent) => {
    if (detector.keydown(e.key, e.repeat, e.timeStamp)) exit();
  };
  const onMessage = (e: MessageEvent) => {
    if (!frame || e.origin !== config.server || e.source !== frame.contentWindow) return;
    const type = (e.data as { relais?: string } | null)?.relais;
    if (type === 'exit') exit();
    else if (type === 'close') toggle(false);
  };
  const toggle = (open: boolean) => {
    if (open && !frame) {
      frame = document.createElement('iframe');
      frame.className = 'frame';
      frame.title = s.title;
      const fragment = new URLSearchParams({ lang: config.lang, org: config.org, host: location.origin, exit: config.exit });
      frame.src = `${config.server}/widget/#${fragment.toString()}`;
      frame.allow = '';
      frame.referrerPolicy = 'no-referrer';
      root.appendChild(frame);
      window.addEventListener('message', onMessage);
      document.addEventListener('keydown', onKey, true);
    }
    if (!frame) return;
    frame.classList.toggle('hidden', !open);
    button.setAttribute('aria-expanded', String(open));
    button.textContent = open ? s.close : s.open;
    if (open) frame.focus();
    else button.focus();
  };
  button.addEventListener('click', () => toggle(button.getAttribute('aria-expanded') !== 'true'));
}

const current = typeof document === 'undefined' ? null : document.currentScript;
if (current && current.tagName === 'SCRIPT') {
  const script = current as HTMLScriptElement;
  if (document.body) start(script);
  else document.addEventListener('DOMContentLoaded', () => start(script), { once: true });
}
