import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';
import { FakeSocket, ManualClock, settle } from './testing.js';
import { RequestError, Transport, type Cursor, type TransportState } from './transport.js';

const challenge = 'DEpspELcRdRlvq5MkVi4B61z9J7frLP0W_ka6XRQWgo';
const cmid = (n: number) => `client-msg-id-${String(n).padStart(8, '0')}`;

function setup(options: { cursors?: Cursor[]; random?: () => number } = {}) {
  const clock = new ManualClock();
  const sockets: FakeSocket[] = [];
  const states: TransportState[] = [];
  const pushes: Record<string, unknown>[] = [];
  const t = new Transport({
    url: 'wss://relais.test/ws',
    role: 'beneficiary',
    client: 'relais-widget/test',
    clock,
    random: options.random ?? (() => 0.5),
    socketFactory: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    cursors: () => options.cursors ?? [],
    authenticate: async (ctx) => {
      expect(ctx.challenge.length).toBe(32);
      await ctx.request({ type: 'auth.beneficiary', identity_key: challenge, signature: 'A'.repeat(86) });
    },
  });
  t.on({ state: (s) => states.push(s), message: (m) => pushes.push(m as unknown as Record<string, unknown>) });
  /** Runs the handshake on the newest socket up to ready. */
  const handshake = async () => {
    const s = sockets.at(-1)!;
    s.open();
    expect(s.sent[0]).toEqual({ type: 'hello', versions: [1], role: 'beneficiary', client: 'relais-widget/test' });
    s.receive({ type: 'welcome', version: 1, challenge });
    await settle();
    const auth = s.last('auth.beneficiary')!;
    s.receive({ type: 'auth.ok', rid: auth.rid, role: 'beneficiary' });
    await settle();
    const sync = s.last('sync')!;
    s.receive({ type: 'sync.done', rid: sync.rid, conversations: [] });
    await settle();
    return s;
  };
  return { t, clock, sockets, states, pushes, handshake };
}

describe('Transport', () => {
  it('says hello, authenticates on the challenge, syncs with the cursors, then is ready', async () => {
    const env = setup({ cursors: [{ conversation_id: 4211, last_seq: 1040 }] });
    env.t.start();
    const s = await env.handshake();
    expect(s.last('sync')).toMatchObject({ cursors: [{ conversation_id: 4211, last_seq: 1040 }] });
    expect(env.states).toEqual(['connecting', 'authenticating', 'syncing', 'ready']);
    expect(env.pushes[0]).toMatchObject({ type: 'sync.done' });
  });

  it('matches replies by rid, also across pushes, and rejects error replies', async () => {
    const env = setup();
    env.t.start();
    const s = await env.handshake();
    const p1 = env.t.request({ type: 'permanence.get' });
    const p2 = env.t.request({ type: 'queue.join', urgent: true });
    const [get, join] = [s.sent.at(-2)!, s.sent.at(-1)!];
    s.receive({ type: 'queue.position', ticket_id: 5, position: 1, estimated_wait_s: 0 }); // a push
    s.receive({ type: 'error', rid: join.rid, code: 700, name: 'permanence_closed' });
    s.receive({ type: 'permanence.status', rid: get.rid, open: false, availability: 'closed', queue_open: false, emergency_numbers: [] });
    await expect(p1).resolves.toMatchObject({ type: 'permanence.status', open: false });
    await expect(p2).rejects.toMatchObject({ code: 'permanence_closed', numericCode: 700 });
    expect(env.pushes.at(-1)).toMatchObject({ type: 'queue.position' });
  });

  it('drops invalid frames without acting on them', async () => {
    const env = setup();
    const errors: string[] = [];
    env.t.on({ protocolError: (d) => errors.push(d) });
    env.t.start();
    const s = await env.handshake();
    s.receive('{"type":"queue.position","ticket_id":0,"position":1,"estimated_wait_s":0}');
    s.receive('not json');
    s.receive({ type: 'queue.join', urgent: true });
    expect(errors.map((e) => e.split(':')[0])).toEqual(['out_of_range', 'malformed_json', 'wrong_direction']);
    expect(env.pushes.length).toBe(1); // only sync.done
  });

  it('fails a request that gets no reply with timeout', async () => {
    const env = setup();
    env.t.start();
    await env.handshake();
    const p = env.t.request({ type: 'permanence.get' });
    env.clock.advance(15_000);
    await expect(p).rejects.toMatchObject({ code: 'timeout' });
  });

  it('reconnects with growing jittered delays after a lost connection, and resets once ready', async () => {
    const env = setup({ random: () => 0.999 });
    env.t.start();
    await env.handshake();
    env.sockets[0]!.drop(1006);
    expect(env.t.state).toBe('waiting_retry');
    env.clock.advance(498);
    expect(env.sockets.length).toBe(1);
    env.clock.advance(2); // 0.999 * 500 = 499
    expect(env.sockets.length).toBe(2);
    env.sockets[1]!.drop(1006); // refused again: the ceiling doubles
    env.clock.advance(998);
    expect(env.sockets.length).toBe(2);
    env.clock.advance(1); // 0.999 * 1000
    expect(env.sockets.length).toBe(3);
    await env.handshake();
    env.sockets[2]!.drop(1013);
    env.clock.advance(499);
    expect(env.sockets.length).toBe(4);
  });

  it('resends unacknowledged messages with the same client_msg_id after a reconnect, in order', async () => {
    const env = setup();
    const acks: string[] = [];
    env.t.on({ ack: (a) => acks.push(a.client_msg_id) });
    env.t.send({ conversation_id: 7, client_msg_id: cmid(1), ciphertext: 'AQID' }); // before connecting
    env.t.start();
    const s1 = await env.handshake();
    env.t.send({ conversation_id: 7, client_msg_id: cmid(2), ciphertext: 'BAUG' });
    const sends1 = s1.sent.filter((f) => f.type === 'conversation.send');
    expect(sends1.map((f) => f.client_msg_id)).toEqual([cmid(1), cmid(2)]);
    s1.receive({ type: 'conversation.ack', rid: sends1[0]!.rid, conversation_id: 7, client_msg_id: cmid(1), seq: 1, sent_at: 1 });
    expect(env.t.pendingSends).toBe(1);
    s1.drop(1006); // the second ack is lost
    env.clock.advance(30_000);
    const s2 = await env.handshake();
    const sends2 = s2.sent.filter((f) => f.type === 'conversation.send');
    expect(sends2.map((f) => [f.client_msg_id, f.ciphertext])).toEqual([[cmid(2), 'BAUG']]);
    s2.receive({ type: 'conversation.ack', rid: sends2[0]!.rid, conversation_id: 7, client_msg_id: cmid(2), seq: 2, sent_at: 2 });
    expect(acks).toEqual([cmid(1), cmid(2)]);
    expect(env.t.pendingSends).toBe(0);
  });

  it('paces sends the server refused as too fast, then drops only what it refused for good', async () => {
    const env = setup();
    const failed: string[] = [];
    env.t.on({ sendFailed: (id, e) => failed.push(`${id} ${e.code}`) });
    env.t.start();
    const s = await env.handshake();
    env.t.send({ conversation_id: 7, client_msg_id: cmid(1), ciphertext: 'AQID' });
    const first = s.last('conversation.send')!;
    s.receive({ type: 'error', rid: first.rid, code: 305, name: 'rate_limited', retry_after_ms: 1500 });
    env.t.send({ conversation_id: 7, client_msg_id: cmid(2), ciphertext: 'BAUG' });
    expect(s.sent.filter((f) => f.type === 'conversation.send').length).toBe(1);
    env.clock.advance(1500);
    const again = s.sent.filter((f) => f.type === 'conversation.send').slice(1);
    expect(again.map((f) => f.client_msg_id)).toEqual([cmid(1), cmid(2)]);
    s.receive({ type: 'error', rid: again[1]!.rid, code: 503, name: 'conversation_ended' });
    expect(failed).toEqual([`${cmid(2)} conversation_ended`]);
    expect(env.t.pendingSends).toBe(1);
  });

  it('stops on close codes where retrying cannot help', async () => {
    for (const [code, action] of [
      [4001, 'update'],
      [4003, 'login'],
      [4002, 'login'],
      [4005, 'stop'],
      [4004, 'shift_ended'],
    ] as const) {
      const env = setup();
      const infos: unknown[] = [];
      env.t.on({ state: (s, i) => infos.push([s, i.action]) });
      env.t.start();
      await env.handshake();
      env.sockets[0]!.drop(code);
      expect(infos.at(-1)).toEqual(['stopped', action]);
      env.clock.advance(60_000);
      expect(env.sockets.length).toBe(1);
    }
  });

  it('stops when authentication is refused, and stop() fails waiting requests', async () => {
    const env = setup();
    env.t.start();
    const s = env.sockets[0]!;
    s.open();
    s.receive({ type: 'welcome', version: 1, challenge });
    await settle();
    const waiting = env.t.request({ type: 'permanence.get' });
    s.receive({ type: 'error', rid: s.last('auth.beneficiary')!.rid, code: 204, name: 'invalid_signature' });
    await settle();
    expect(env.t.state).toBe('stopped');
    env.t.stop();
    await expect(waiting).rejects.toBeInstanceOf(RequestError);
  });
});

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, with full jitter and a floor', () => {
    expect(backoffDelay(0, () => 0.999)).toBe(499);
    expect(backoffDelay(3, () => 0.999)).toBe(3996);
    expect(backoffDelay(20, () => 0.999)).toBe(29_970);
    expect(backoffDelay(2, () => 0)).toBe(100);
    expect(backoffDelay(1000, () => 0.5)).toBe(15_000);
  });
});
