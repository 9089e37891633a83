// The TOTP enrolment's QR code: the otpauth URI encoded by uqr (a small dependency-free QR
// encoder, MIT) and drawn as one SVG path, so that no image is fetched and the page's CSP needs
// nothing more. The key stays on the screen as text next to it (screen readers, manual entry).
import { encode } from 'uqr';

/** Modules of quiet zone around the code: ISO/IEC 18004 asks for 4. */
const quietZone = 4;

/** A QR code as drawn: `size` modules a side (quiet zone included) and the SVG path of the dark ones. */
export interface QrImage {
  readonly size: number;
  readonly path: string;
  /** The dark modules, row by row (for tests). */
  readonly modules: readonly (readonly boolean[])[];
}

/**
 * Encodes `text` (error correction M: an otpauth URI of about 120 bytes fits version 6 or 7,
 * readable on a laptop screen from a phone) into one path of 1×1 squares in module units.
 */
export function qrImage(text: string): QrImage {
  const qr = encode(text, { ecc: 'M', border: quietZone });
  const parts: string[] = [];
  for (let y = 0; y < qr.size; y++) {
    // Runs of dark modules on a row make one rectangle each: a short path.
    let x = 0;
    while (x < qr.size) {
      if (!qr.data[y]![x]) {
        x++;
        continue;
      }
      let end = x;
      while (end < qr.size && qr.data[y]![end]) end++;
      parts.push(`M${x} ${y}h${end - x}v1h-${end - x}z`);
      x = end;
    }
  }
  return { size: qr.size, path: parts.join(''), modules: qr.data };
}

const svgNs = 'http://www.w3.org/2000/svg';

/**
 * The SVG element of `text`'s QR code, an image named by the element `labelledBy` (its text
 * alternative says what to do with it; the key itself is written out beside it).
 */
export function qrSvg(doc: Document, text: string, labelledBy: string): SVGSVGElement {
  const { size, path } = qrImage(text);
  const svg = doc.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-labelledby', labelledBy);
  svg.setAttribute('shape-rendering', 'crispEdges');
  svg.setAttribute('class', 'qr');
  const bg = doc.createElementNS(svgNs, 'rect');
  bg.setAttribute('width', String(size));
  bg.setAttribute('height', String(size));
  bg.setAttribute('fill', '#ffffff');
  const dark = doc.createElementNS(svgNs, 'path');
  dark.setAttribute('d', path);
  dark.setAttribute('fill', '#000000');
  svg.append(bg, dark);
  return svg;
}

/** The base32 secret of an otpauth URI in groups of four, as the text alternative to the QR code. */
export function groupedSecret(uri: string): string {
  let secret = '';
  try {
    secret = new URL(uri).searchParams.get('secret') ?? '';
  } catch {
    return '';
  }
  return secret.match(/.{1,4}/g)?.join(' ') ?? secret;
}
