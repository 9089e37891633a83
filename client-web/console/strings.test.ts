import { describe, expect, it } from 'vitest';
import { catalogues, format, translator, type StringKey } from './strings.js';

function placeholders(s: string): string[] {
  return [...s.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!).sort();
}

describe('Console strings', () => {
  it('HaveTheSameKeysAndPlaceholdersInFrenchAndEnglish', () => {
    const fr = catalogues.fr;
    const en = catalogues.en;
    expect(Object.keys(en).sort()).toEqual(Object.keys(fr).sort());
    for (const key of Object.keys(fr) as StringKey[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(fr[key]));
      expect(fr[key].trim(), key).not.toBe('');
      expect(en[key].trim(), key).not.toBe('');
    }
  });

  it('FillPlaceholdersAndLeaveUnknownOnesVisible', () => {
    expect(format('{count} en attente', { count: 3 })).toBe('3 en attente');
    expect(format('{count} {other}', { count: 1 })).toBe('1 {other}');
    expect(translator('en')('queue_count', { count: 2 })).toBe('2 person(s) waiting');
    expect(translator('fr')('shift_off')).toContain('hors permanence');
  });
});
