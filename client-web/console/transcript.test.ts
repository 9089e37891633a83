import { describe, expect, it } from 'vitest';
import { DeterministicRandom } from '../common/crypto/index.js';
import { codeOf, seedOf } from '../common/crypto/testing.js';
import { openTranscript, printableTranscript, sealTranscript, transcriptOf, TranscriptFormatError } from './transcript.js';
import { sealKeystore, utf8 } from '../common/crypto/index.js';
import type { ConversationRecord } from './vault.js';

const conversation: ConversationRecord = {
  id: 12,
  beneficiaryKey: 'k',
  urgent: false,
  returning: false,
  open: false,
  lastSeq: 3,
  openedAt: 1,
  messages: [
    { seq: 1, sender: 'beneficiary', text: 'Bonjour <script>alert(1)</script>', sentAt: 1000, clientMsgId: 'a' },
    { seq: 2, sender: 'worker', text: '', sentAt: 2000, clientMsgId: 'b' },
    { seq: 3, sender: 'worker', text: 'Je vous écoute', sentAt: 3000, clientMsgId: 'c' },
  ],
};
const labels = { title: 'Conversation 12', printed: 'Imprimée', me: 'Moi', them: 'Personne', note: 'Note', lang: 'fr' };

describe('Transcript', () => {
  it('PrintsEscapedTextWithoutScriptsOrEmptyMessages', () => {
    const html = printableTranscript(transcriptOf(conversation, 'à revoir'), labels, (ms) => String(ms));
    expect(html).toContain('Bonjour &lt;script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('Je vous écoute');
    expect(html).toContain('à revoir');
    expect(html.match(/<tr>/g)).toHaveLength(2);
  });

  it('RoundTripsAnEncryptedFileAndRefusesAWrongPassphrase', () => {
    const random = new DeterministicRandom(seedOf(21));
    const file = sealTranscript(transcriptOf(conversation), 'phrase du fichier', random);
    expect(new TextDecoder().decode(file)).not.toContain('Je vous écoute');
    expect(openTranscript(file, 'phrase du fichier').messages.map((m) => m.seq)).toEqual([1, 3]);
    expect(codeOf(() => openTranscript(file, 'autre'))).toBe('authentication_failed');
  });

  it('RefusesAnEncryptedFileThatIsNotATranscript', () => {
    const random = new DeterministicRandom(seedOf(22));
    const other = sealKeystore('p', utf8('{"format":"other"}'), random);
    expect(() => openTranscript(other, 'p')).toThrow(TranscriptFormatError);
    const garbage = sealKeystore('p', Uint8Array.of(0xff), random);
    expect(() => openTranscript(garbage, 'p')).toThrow(TranscriptFormatError);
  });
});
