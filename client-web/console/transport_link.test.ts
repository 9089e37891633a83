import { describe, expect, it } from 'vitest';
import { RequestError } from '../common/transport/index.js';
import { LinkClosedError, ServerError } from './link.js';
import { toLinkError } from './transport_link.js';

describe('TransportLink', () => {
  it('TurnsServerRefusalsIntoServerErrorsAndLocalFailuresIntoLinkClosed', () => {
    const refused = toLinkError(new RequestError('account_locked', 206, 60_000));
    expect(refused).toBeInstanceOf(ServerError);
    expect((refused as ServerError).errorName).toBe('account_locked');
    expect((refused as ServerError).retryAfterMs).toBe(60_000);
    for (const code of ['timeout', 'disconnected', 'stopped', 'auth_failed']) expect(toLinkError(new RequestError(code))).toBeInstanceOf(LinkClosedError);
  });
});
