// The embed snippet the worker copies into her own site (issue 8): the widget loader with its
// Subresource Integrity hash, and the organisation fingerprint the widget pins.
import type { Lang } from './strings.js';

/** Where relaisd serves the widget loader (client-web's build, see README "console"). */
export const widgetLoaderPath = '/widget/loader.js';

/** What the snippet is made of. */
export interface SnippetParams {
  /** Absolute https URL of the loader. */
  loaderUrl: string;
  /** `sha384-…` of the loader's exact bytes. */
  integrity: string;
  /** The relaisd origin the widget connects to. */
  serverUrl: string;
  lang: Lang;
  /** base64url SHA-256 of the org public key (CRYPTO.md §7). */
  orgFingerprint: string;
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The one-line `<script>` tag to paste in a page. */
export function embedSnippet(p: SnippetParams): string {
  const attrs: [string, string][] = [
    ['src', p.loaderUrl],
    ['integrity', p.integrity],
    ['crossorigin', 'anonymous'],
    ['data-relais-server', p.serverUrl],
    ['data-relais-lang', p.lang],
    ['data-relais-org', p.orgFingerprint],
  ];
  return `<script async ${attrs.map(([k, v]) => `${k}="${escapeAttribute(v)}"`).join(' ')}></script>`;
}

/** The SRI value of some bytes: "sha384-" and standard base64 with padding (W3C SRI §3.1). */
export async function sriSha384(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-384', bytes as Uint8Array<ArrayBuffer>));
  let binary = '';
  for (const b of digest) binary += String.fromCharCode(b);
  return 'sha384-' + btoa(binary);
}
