// `npm run vectors`: writes protocol/vectors/ratchet_transcript_ts.json (the TypeScript golden
// transcript that the C++ tests replay). Deterministic: running it twice gives the same file.
import { writeFileSync } from 'node:fs';
import { generateTranscript, replayTranscript, transcriptStats } from '../common/crypto/transcript.js';
import { initSodium } from '../common/crypto/sodium.js';
import { vectorPath } from '../common/crypto/testing.js';

await initSodium();
const transcript = generateTranscript();
const mismatch = replayTranscript(transcript);
if (mismatch) throw new Error(`the fresh transcript does not replay: ${mismatch}`);
const file = vectorPath('ratchet_transcript_ts.json');
// One event per line: readable diffs, and small enough (no per-field indentation).
const { events, ...head } = transcript;
const headJson = JSON.stringify(head, null, 2).replace(/\n}$/, '');
writeFileSync(file, `${headJson},\n  "events": [\n${events.map((e) => `    ${JSON.stringify(e)}`).join(',\n')}\n  ]\n}\n`);
console.log(`wrote ${file}`);
console.log(JSON.stringify(transcriptStats(transcript)));
