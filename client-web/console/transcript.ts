// Transcript export: a printable page, and an encrypted file for the worker's own records.
// Neither goes through the server.
import { openKeystore, sealKeystore, utf8, type Random } from '../common/crypto/index.js';
import type { ConversationRecord } from './vault.js';

/** The JSON inside an encrypted transcript file. */
export interface TranscriptFile {
  format: 'relais-transcript-1';
  conversationId: number;
  beneficiaryKey: string;
  note?: string;
  messages: { seq: number; sender: 'worker' | 'beneficiary'; text: string; sentAt: number }[];
}

/** Thrown when a decrypted file is not a transcript. */
export class TranscriptFormatError extends Error {
  override readonly name = 'TranscriptFormatError';
}

/** What goes into a transcript: the messages in seq order, and the note if asked. */
export function transcriptOf(c: ConversationRecord, note?: string): TranscriptFile {
  const t: TranscriptFile = {
    format: 'relais-transcript-1',
    conversationId: c.id,
    beneficiaryKey: c.beneficiaryKey,
    messages: c.messages.filter((m) => m.text !== '').map((m) => ({ seq: m.seq, sender: m.sender, text: m.text, sentAt: m.sentAt })),
  };
  if (note) t.note = note;
  return t;
}

/**
 * Seals a transcript under a passphrase the worker chooses, in the keystore format of
 * CRYPTO.md §10 (Argon2id, XChaCha20-Poly1305): the file is safe to keep in her own files.
 */
export function sealTranscript(t: TranscriptFile, passphrase: string, random: Random): Uint8Array {
  return sealKeystore(passphrase, utf8(JSON.stringify(t)), random);
}

/** Opens a transcript file; CryptoError `authentication_failed` for a wrong passphrase. */
export function openTranscript(bytes: Uint8Array, passphrase: string): TranscriptFile {
  const plain = openKeystore(passphrase, bytes);
  let t: TranscriptFile;
  try {
    t = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain)) as TranscriptFile;
  } catch {
    throw new TranscriptFormatError('not a transcript');
  }
  if (t?.format !== 'relais-transcript-1' || !Array.isArray(t.messages)) throw new TranscriptFormatError('not a transcript');
  return t;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Labels the printable page needs, in the console's language. */
export interface PrintLabels {
  title: string;
  printed: string;
  me: string;
  them: string;
  note: string;
  lang: string;
}

/** A self-contained printable HTML page (no script, no external resource). */
export function printableTranscript(t: TranscriptFile, labels: PrintLabels, formatTime: (ms: number) => string): string {
  const rows = t.messages
    .map((m) => `<tr><td>${escapeHtml(formatTime(m.sentAt))}</td><th scope="row">${escapeHtml(m.sender === 'worker' ? labels.me : labels.them)}</th><td>${escapeHtml(m.text).replace(/\n/g, '<br>')}</td></tr>`)
    .join('\n');
  const note = t.note ? `<h2>${escapeHtml(labels.note)}</h2><p>${escapeHtml(t.note).replace(/\n/g, '<br>')}</p>` : '';
  return `<!doctype html><html lang="${escapeHtml(labels.lang)}"><head><meta charset="utf-8"><title>${escapeHtml(labels.title)}</title>
<style>body{font:12pt/1.5 sans-serif;margin:2em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #999;padding:.3em;text-align:left;vertical-align:top}</style></head>
<body><h1>${escapeHtml(labels.title)}</h1><p>${escapeHtml(labels.printed)}</p>
<table><tbody>
${rows}
</tbody></table>${note}</body></html>`;
}
