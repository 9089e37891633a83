import { describe, expect, it } from 'vitest';
import { ShiftTripleDetector } from './shift_exit.js';

describe('ShiftTripleDetector', () => {
  it('fires on three quick Shift presses', () => {
    const d = new ShiftTripleDetector();
    expect(d.keydown('Shift', false, 0)).toBe(false);
    expect(d.keydown('Shift', false, 200)).toBe(false);
    expect(d.keydown('Shift', false, 400)).toBe(true);
    expect(d.keydown('Shift', false, 600)).toBe(false); // starts over
  });

  it('ignores capitals, held keys and slow presses', () => {
    const d = new ShiftTripleDetector();
    d.keydown('Shift', false, 0);
    d.keydown('A', false, 50);
    d.keydown('Shift', false, 100);
    expect(d.keydown('Shift', false, 200)).toBe(false);
    const held = new ShiftTripleDetector();
    held.keydown('Shift', false, 0);
    held.keydown('Shift', true, 30);
    expect(held.keydown('Shift', true, 60)).toBe(false);
    const slow = new ShiftTripleDetector();
    slow.keydown('Shift', false, 0);
    slow.keydown('Shift', false, 1000);
    expect(slow.keydown('Shift', false, 2000)).toBe(false);
  });
});
