/**
 * What the loader tells the widget page, in the iframe URL's fragment (never sent to the server,
 * so it is in no access log): language, pinned org fingerprint, the host page's origin (the only
 * target of postMessage) and the neutral exit page.
 */
import { parseLang, type Lang } from '../common/i18n/strings.js';

/** The widget page's parameters. */
export interface WidgetConfig {
  readonly lang: Lang;
  /** base64url SHA-256 of the org key, 43 characters; empty if none was given. */
  readonly org: string;
  /** Origin of the embedding page, or null when the page is opened on its own. */
  readonly host: string | null;
  /** Where quick exit goes. */
  readonly exit: string;
}

/** Default neutral page for quick exit: a search engine, unremarkable in any history. */
export const defaultExitUrl = 'https://www.google.fr/';

const fingerprintPattern = /^[A-Za-z0-9_-]{43}$/;

function httpsUrl(value: string | null): string | null {
  if (!value) return null;
  try {
    const u = new URL(value);
    return u.protocol === 'https:' || (u.protocol === 'http:' && (u.hostname === 'localhost' || u.hostname === '127.0.0.1'))
      ? u.href
      : null;
  } catch {
    return null;
  }
}

function origin(value: string | null): string | null {
  const u = httpsUrl(value);
  return u ? new URL(u).origin : null;
}

/** Reads the fragment `#lang=fr&org=...&host=...&exit=...`; anything invalid falls back safely. */
export function parseConfig(fragment: string): WidgetConfig {
  const p = new URLSearchParams(fragment.replace(/^#/, ''));
  const org = p.get('org') ?? '';
  return {
    lang: parseLang(p.get('lang')),
    org: fingerprintPattern.test(org) ? org : '',
    host: origin(p.get('host')),
    exit: httpsUrl(p.get('exit')) ?? defaultExitUrl,
  };
}
