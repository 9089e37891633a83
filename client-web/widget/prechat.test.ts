import { describe, expect, it } from 'vitest';
import { prechatSummary, validPhone } from './prechat.js';

describe('prechat', () => {
  it('validates phone numbers loosely', () => {
    expect(validPhone('06 12 34 56 78')).toBe(true);
    expect(validPhone('+33 6 12 34 56 78')).toBe(true);
    expect(validPhone('12345')).toBe(false);
    expect(validPhone('06 12 34 56 78 ext')).toBe(false);
    expect(validPhone('')).toBe(false);
  });

  it('summarises only what was given', () => {
    expect(prechatSummary('fr', { name: '', urgent: false, mode: 'chat', phone: '' })).toBeNull();
    expect(prechatSummary('fr', { name: ' Ana ', urgent: true, mode: 'callback', phone: '06 12 34 56 78' })).toBe(
      'Prénom : Ana · Urgent · Souhaite être rappelé·e au 06 12 34 56 78',
    );
    expect(prechatSummary('en', { name: '', urgent: false, mode: 'video', phone: '' })).toBe('Would like a video call');
  });
});
