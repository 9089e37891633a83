/** The pre-chat answers and the text they become (sent as the first encrypted message). */
import { t, type Lang } from '../common/i18n/strings.js';

/** How the person wants to be helped. */
export type HelpMode = 'chat' | 'callback' | 'video';

/** What the pre-chat form collected; every field optional. */
export interface PrechatAnswers {
  readonly name: string;
  readonly urgent: boolean;
  readonly mode: HelpMode;
  readonly phone: string;
}

/** Limits of the form, with their reason. */
export const prechatLimits = {
  /** Characters of a first name or pseudonym: the certificate's display name limit is 64 bytes. */
  nameChars: 64,
  /** Digits of a phone number: E.164 allows 15, local formats with a prefix a few more. */
  phoneMinDigits: 6,
  phoneMaxDigits: 17,
} as const;

/** True if `phone` looks like a number someone can call back (digits, spaces, dots, dashes, +). */
export function validPhone(phone: string): boolean {
  if (!/^\+?[0-9 .()-]+$/.test(phone.trim())) return false;
  const digits = phone.replace(/\D/g, '').length;
  return digits >= prechatLimits.phoneMinDigits && digits <= prechatLimits.phoneMaxDigits;
}

/** The answers as one plain message for the worker, in the person's language; null if empty. */
export function prechatSummary(lang: Lang, a: PrechatAnswers): string | null {
  const lines: string[] = [];
  const name = a.name.trim().slice(0, prechatLimits.nameChars);
  if (name) lines.push(t(lang, 'prechat.summary_name', { name }));
  if (a.urgent) lines.push(t(lang, 'prechat.summary_urgent'));
  if (a.mode === 'callback' && a.phone.trim()) lines.push(t(lang, 'prechat.summary_callback', { phone: a.phone.trim() }));
  if (a.mode === 'video') lines.push(t(lang, 'prechat.summary_video'));
  return lines.length ? lines.join(' · ') : null;
}
