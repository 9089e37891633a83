import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { embedSnippet, sriSha384 } from './snippet.js';

describe('Embed snippet', () => {
  it('ComputesTheSriHashAsBrowsersCheckIt', async () => {
    const bytes = new TextEncoder().encode('console.log("loader")');
    const expected = 'sha384-' + createHash('sha384').update(bytes).digest('base64');
    expect(await sriSha384(bytes)).toBe(expected);
  });

  it('FillsTheIntegrityAndTheOrgFingerprintAndEscapesAttributes', () => {
    const s = embedSnippet({ loaderUrl: 'https://relais.example/widget/loader.js', integrity: 'sha384-abc', serverUrl: 'https://relais.example"><x', lang: 'fr', orgFingerprint: 'F'.repeat(43) });
    expect(s).toContain('integrity="sha384-abc"');
    expect(s).toContain('crossorigin="anonymous"');
    expect(s).toContain(`data-relais-org="${'F'.repeat(43)}"`);
    expect(s).toContain('&quot;&gt;&lt;x');
    expect(s.startsWith('<script ')).toBe(true);
  });
});
