import { describe, expect, it } from 'vitest';
import { catalogue, formatWait, formatWhen, parseLang, t } from './strings.js';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('string catalogue', () => {
  it('has every key in both languages with the same placeholders, none empty', () => {
    expect(Object.keys(catalogue.en).sort()).toEqual(Object.keys(catalogue.fr).sort());
    for (const [key, fr] of Object.entries(catalogue.fr)) {
      const en = catalogue.en[key as keyof typeof catalogue.en];
      expect(fr.trim().length, key).toBeGreaterThan(0);
      expect(en.trim().length, key).toBeGreaterThan(0);
      expect(placeholders(en), key).toEqual(placeholders(fr));
    }
  });

  it('fills placeholders and leaves unknown ones visible', () => {
    expect(t('fr', 'waiting.position', { n: 3 })).toBe('Votre place dans la file : 3.');
    expect(t('en', 'waiting.position', {})).toBe('Your place in the queue: {n}.');
  });

  it('defaults to French', () => {
    expect(parseLang(undefined)).toBe('fr');
    expect(parseLang('de')).toBe('fr');
    expect(parseLang('en-GB')).toBe('en');
    expect(parseLang('EN')).toBe('en');
    expect(parseLang('english')).toBe('fr');
  });

  it('writes waits and dates in plain words', () => {
    expect(formatWait('fr', 20)).toBe('moins d’une minute');
    expect(formatWait('fr', 420)).toBe('7 min');
    expect(formatWait('en', 3900)).toBe('1 h 05 min');
    expect(formatWhen('fr', Date.UTC(2026, 0, 5, 8, 0), 'Europe/Paris')).toBe('lundi 5 janvier à 09:00');
    expect(formatWhen('en', Date.UTC(2026, 0, 5, 8, 0), 'Europe/Paris')).toBe('Monday 5 January at 09:00');
  });
});
