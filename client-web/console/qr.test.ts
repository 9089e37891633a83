import { describe, expect, it } from 'vitest';
import { groupedSecret, qrImage } from './qr.js';

const uri = 'otpauth://totp/Relais:camille?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Relais&algorithm=SHA1&digits=6&period=30';
const border = 4;

/** Redraws a path of `M x y h w v1 h-w z` rectangles into a grid. */
function draw(size: number, path: string): boolean[][] {
  const grid = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  for (const m of path.matchAll(/M(\d+) (\d+)h(\d+)v1h-(\d+)z/g)) {
    const [x, y, w, back] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
    expect(back).toBe(w);
    for (let i = 0; i < w; i++) grid[y]![x + i] = true;
  }
  return grid;
}

/** The 15 format bits of the top-left copy (ISO/IEC 18004 §7.9), unmasked: [ecc, mask, valid]. */
function formatInfo(m: readonly (readonly boolean[])[]): { ecc: number; mask: number; valid: boolean } {
  const at = (x: number, y: number) => (m[y + border]![x + border] ? 1 : 0);
  let bits = 0;
  const set = (i: number, v: number) => {
    bits |= v << i;
  };
  for (let i = 0; i <= 5; i++) set(i, at(8, i));
  set(6, at(8, 7));
  set(7, at(8, 8));
  set(8, at(7, 8));
  for (let i = 9; i < 15; i++) set(i, at(14 - i, 8));
  bits ^= 0x5412;
  const data = bits >> 10;
  // BCH(15,5) with generator 0x537: the whole word is a multiple of it.
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >> 9) * 0x537);
  return { ecc: data >> 3, mask: data & 7, valid: ((data << 10) | rem) === bits };
}

function hasFinder(m: readonly (readonly boolean[])[], x0: number, y0: number): boolean {
  for (let y = 0; y < 7; y++) {
    for (let x = 0; x < 7; x++) {
      const ring = Math.max(Math.abs(x - 3), Math.abs(y - 3));
      if (m[y0 + y]![x0 + x] !== (ring !== 2)) return false;
    }
  }
  return true;
}

describe('TOTP QR code', () => {
  it('DrawsExactlyTheModulesOfTheEncodedUri', () => {
    const img = qrImage(uri);
    expect(img.path.length).toBeGreaterThan(0);
    expect(draw(img.size, img.path)).toEqual(img.modules.map((r) => [...r]));
  });

  it('IsAValidQrSymbolWithQuietZoneFindersAndFormatM', () => {
    const img = qrImage(uri);
    const inner = img.size - 2 * border;
    const version = (inner - 17) / 4;
    expect(Number.isInteger(version) && version >= 1 && version <= 40).toBe(true);
    // Quiet zone: the border rows and columns are all light.
    for (let i = 0; i < img.size; i++) {
      for (let b = 0; b < border; b++) {
        expect(img.modules[b]![i]).toBe(false);
        expect(img.modules[img.size - 1 - b]![i]).toBe(false);
        expect(img.modules[i]![b]).toBe(false);
        expect(img.modules[i]![img.size - 1 - b]).toBe(false);
      }
    }
    expect(hasFinder(img.modules, border, border)).toBe(true);
    expect(hasFinder(img.modules, border + inner - 7, border)).toBe(true);
    expect(hasFinder(img.modules, border, border + inner - 7)).toBe(true);
    const f = formatInfo(img.modules);
    expect(f.valid).toBe(true);
    expect(f.ecc).toBe(0); // M
  });

  it('ChangesWithTheUri', () => {
    expect(qrImage(uri).path).not.toBe(qrImage(uri.replace('JBSW', 'KBSW')).path);
    expect(qrImage(uri).path).toBe(qrImage(uri).path);
  });

  it('GivesTheSecretAsTextForManualEntry', () => {
    expect(groupedSecret(uri)).toBe('JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP');
    expect(groupedSecret('not a uri')).toBe('');
  });
});
