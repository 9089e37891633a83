import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeFrame, encodeFrame, ProtocolError } from './codec.js';
import { messageTable, type ClientMessage } from './messages.js';

const protocolMd = fileURLToPath(new URL('../../../protocol/PROTOCOL.md', import.meta.url));

/** Every ```json example of PROTOCOL.md, as the C++ tests read them. */
function examples(): string[] {
  const md = readFileSync(protocolMd, 'utf8');
  return [...md.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
}

function errorOf(frame: string, client = false): string {
  const r = client ? decodeClientFrame(frame) : decodeFrame(frame);
  return r.ok ? 'ok' : r.error;
}

const message = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: 'queue.position', ticket_id: 88, position: 3, estimated_wait_s: 420, ...extra });

describe('codec', () => {
  it('accepts every example of PROTOCOL.md in its direction', () => {
    const all = examples();
    expect(all.length).toBeGreaterThan(60);
    const seen = new Set<string>();
    for (const frame of all) {
      const type = (JSON.parse(frame) as { type: string }).type;
      seen.add(type);
      const dir = messageTable[type as keyof typeof messageTable].dir;
      const r = dir === 'c2s' ? decodeClientFrame(frame) : decodeFrame(frame);
      expect(r.ok ? 'ok' : `${type}: ${r.error} ${r.detail}`).toBe('ok');
    }
    // Every message of the table has an example (the table and the document agree).
    expect([...seen].sort()).toEqual(Object.keys(messageTable).sort());
  });

  it('refuses frames that are not one JSON object', () => {
    expect(errorOf('{')).toBe('malformed_json');
    expect(errorOf('')).toBe('malformed_json');
    expect(errorOf('[1]')).toBe('not_an_object');
    expect(errorOf('null')).toBe('not_an_object');
    expect(errorOf('{"rid":"a"}')).toBe('missing_type');
    expect(errorOf('{"type":7}')).toBe('missing_type');
    expect(errorOf('{"type":"nonsense"}')).toBe('unknown_type');
  });

  it('refuses a client-to-server type coming from the server', () => {
    expect(errorOf('{"type":"queue.join","urgent":true}')).toBe('wrong_direction');
    expect(errorOf('{"type":"welcome","version":1,"challenge":"' + 'A'.repeat(43) + '"}', true)).toBe('wrong_direction');
  });

  it('checks members: missing, unknown, null, wrong type, range', () => {
    expect(errorOf(message())).toBe('ok');
    expect(errorOf(JSON.stringify({ type: 'queue.position', ticket_id: 88, position: 3 }))).toBe('missing_field');
    expect(errorOf(message({ extra: 1 }))).toBe('unknown_field');
    expect(errorOf(message({ position: null }))).toBe('wrong_type');
    expect(errorOf(message({ position: '3' }))).toBe('wrong_type');
    expect(errorOf(message({ position: 2.5 }))).toBe('wrong_type');
    expect(errorOf(message({ position: 0 }))).toBe('out_of_range');
    expect(errorOf(message({ ticket_id: 2 ** 53 }))).toBe('out_of_range');
    expect(errorOf(message({ estimated_wait_s: -1 }))).toBe('out_of_range');
    expect(errorOf(message({ rid: 'bad rid' }))).toBe('invalid_value');
    expect(errorOf(message({ rid: 'r'.repeat(65) }))).toBe('invalid_value');
  });

  it('checks text, token, enum and arrays', () => {
    const status = (extra: Record<string, unknown>) =>
      JSON.stringify({ type: 'permanence.status', open: true, availability: 'available', queue_open: true, emergency_numbers: [], ...extra });
    expect(errorOf(status({}))).toBe('ok');
    expect(errorOf(status({ availability: 'maybe' }))).toBe('invalid_value');
    expect(errorOf(status({ contribution_url: 'a\u0001b' }))).toBe('invalid_value');
    expect(errorOf(status({ contribution_url: '' }))).toBe('invalid_value');
    expect(errorOf(status({ contribution_url: 'é'.repeat(257) }))).toBe('too_long'); // 514 bytes
    expect(errorOf(status({ contribution_url: '\ud800x' }))).toBe('malformed_json');
    const number = { number: '112', label_fr: 'Urgences', label_en: 'Emergency' };
    expect(errorOf(status({ emergency_numbers: Array(17).fill(number) }))).toBe('too_many_items');
    expect(errorOf(status({ emergency_numbers: [{ ...number, sms: 'yes' }] }))).toBe('wrong_type');
    expect(errorOf(status({ emergency_numbers: [{ number: '112', label_fr: 'x' }] }))).toBe('missing_field');
    expect(errorOf(status({ emergency_numbers: [{ ...number, x: 1 }] }))).toBe('unknown_field');
    const ack = (id: string) =>
      JSON.stringify({ type: 'conversation.ack', conversation_id: 1, client_msg_id: id, seq: 1, sent_at: 1 });
    expect(errorOf(ack('Xk3v9QpL2mN8rT4wYz6bAg'))).toBe('ok');
    expect(errorOf(ack('short'))).toBe('invalid_value');
    expect(errorOf(ack('Xk3v9QpL2mN8rT4wYz6b+g'))).toBe('invalid_value');
    expect(errorOf(ack('x'.repeat(65)))).toBe('too_long');
  });

  it('checks base64url: canonical, decoded lengths', () => {
    const welcome = (challenge: string) => JSON.stringify({ type: 'welcome', version: 1, challenge });
    const good = 'DEpspELcRdRlvq5MkVi4B61z9J7frLP0W_ka6XRQWgo';
    expect(errorOf(welcome(good))).toBe('ok');
    expect(errorOf(welcome(good + '='))).toBe('invalid_base64');
    expect(errorOf(welcome(good.replace('_', '/')))).toBe('invalid_base64');
    expect(errorOf(welcome(good.slice(0, 42) + 'p'))).toBe('invalid_base64'); // non-zero unused bits
    expect(errorOf(welcome(good + 'AAAA'))).toBe('too_long');
    expect(errorOf(welcome(good.slice(0, 40)))).toBe('invalid_value');
    expect(errorOf(welcome('A'))).toBe('invalid_base64');
  });

  it('bounds depth, value count and frame size', () => {
    expect(errorOf(JSON.stringify({ type: 'ok', a: [[[[1]]]] }))).toBe('too_deep');
    expect(errorOf(JSON.stringify({ type: 'ok', a: Array(5000).fill(1) }))).toBe('too_many_items');
    expect(errorOf(JSON.stringify({ type: 'ok', pad: 'x'.repeat(70_000) }))).toBe('frame_too_large');
  });

  it('ignores unknown members of hello only', () => {
    expect(errorOf('{"type":"hello","versions":[1],"role":"beneficiary","future":true}', true)).toBe('ok');
    expect(errorOf('{"type":"queue.leave","future":true}', true)).toBe('unknown_field');
  });

  it('checks the rules across members', () => {
    const bundle = JSON.parse(examples().find((e) => e.includes('"keys.bundle"'))!) as Record<string, unknown>;
    delete bundle.opk_pub;
    expect(errorOf(JSON.stringify(bundle))).toBe('missing_field');
    expect(errorOf('{"type":"keys.fetch"}', true)).toBe('missing_field');
    expect(errorOf('{"type":"keys.fetch","conversation_id":1,"worker_id":2}', true)).toBe('invalid_value');
  });

  it('encodes valid messages and throws on our own bugs', () => {
    expect(encodeFrame({ type: 'queue.join', rid: 'q1', urgent: true })).toBe('{"type":"queue.join","rid":"q1","urgent":true}');
    expect(() => encodeFrame({ type: 'queue.join' } as unknown as ClientMessage)).toThrow(ProtocolError);
    expect(() => encodeFrame({ type: 'conversation.typing', conversation_id: 0, active: true })).toThrow(/out_of_range/);
  });
});
