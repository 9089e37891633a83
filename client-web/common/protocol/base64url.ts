/**
 * Canonical unpadded base64url (RFC 4648 §5, PROTOCOL.md §3) without libsodium, so that the
 * codec works before the crypto module is loaded (the widget shows the permanence status first).
 */

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const values = new Int16Array(128).fill(-1);
for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;

/**
 * The decoded length of canonical base64url text, or -1 if it is not canonical: a character
 * outside the alphabet, padding, a length of 1 modulo 4, or non-zero unused bits at the end.
 */
export function base64UrlDecodedLength(textValue: string): number {
  const n = textValue.length;
  if (n % 4 === 1) return -1;
  for (let i = 0; i < n; i++) {
    const c = textValue.charCodeAt(i);
    if (c >= 128 || values[c]! < 0) return -1;
  }
  const rest = n % 4;
  if (rest !== 0) {
    const last = values[textValue.charCodeAt(n - 1)]!;
    // 2 characters carry 1 byte (4 unused bits), 3 carry 2 bytes (2 unused bits).
    const unusedMask = rest === 2 ? 0x0f : 0x03;
    if ((last & unusedMask) !== 0) return -1;
  }
  return Math.floor((n * 3) / 4);
}

/** Decodes canonical base64url; throws RangeError otherwise. */
export function decodeBase64Url(textValue: string): Uint8Array {
  const length = base64UrlDecodedLength(textValue);
  if (length < 0) throw new RangeError('not canonical base64url');
  const out = new Uint8Array(length);
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < textValue.length; i++) {
    acc = (acc << 6) | values[textValue.charCodeAt(i)]!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

/** Encodes bytes as unpadded base64url. */
export function encodeBase64Url(data: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < data.length; i += 3) {
    const v = (data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!;
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]! + alphabet[v & 63]!;
  }
  const rest = data.length - i;
  if (rest === 1) {
    const v = data[i]! << 16;
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]!;
  } else if (rest === 2) {
    const v = (data[i]! << 16) | (data[i + 1]! << 8);
    out += alphabet[v >> 18]! + alphabet[(v >> 12) & 63]! + alphabet[(v >> 6) & 63]!;
  }
  return out;
}
