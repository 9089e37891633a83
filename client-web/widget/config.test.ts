import { describe, expect, it } from 'vitest';
import { defaultExitUrl, parseConfig } from './config.js';

const org = 'x'.repeat(43);

describe('parseConfig', () => {
  it('reads the fragment', () => {
    expect(parseConfig(`#lang=en&org=${org}&host=https%3A%2F%2Fassociation.example&exit=https%3A%2F%2Fexample.org%2Fmeteo`)).toEqual({
      lang: 'en',
      org,
      host: 'https://association.example',
      exit: 'https://example.org/meteo',
    });
  });

  it('falls back to French, no pin, no host and the default exit on bad values', () => {
    expect(parseConfig('#lang=de&org=short&host=javascript%3Aalert(1)&exit=javascript%3Aalert(1)')).toEqual({
      lang: 'fr',
      org: '',
      host: null,
      exit: defaultExitUrl,
    });
    expect(parseConfig('').exit).toBe(defaultExitUrl);
    expect(parseConfig('#host=http%3A%2F%2Fevil.example').host).toBeNull();
  });
});
