import { describe, expect, it } from 'vitest';
import { catalogue } from '../common/i18n/strings.js';
import { loaderStrings } from './loader.js';

describe('loader strings', () => {
  it('mirror the catalogue', () => {
    for (const lang of ['fr', 'en'] as const) {
      expect(loaderStrings[lang]).toEqual({
        open: catalogue[lang]['launcher.open'],
        close: catalogue[lang]['launcher.close'],
        title: catalogue[lang]['app.title'],
      });
    }
  });
});
