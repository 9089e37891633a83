import { describe, expect, it } from 'vitest';
import { weekLines } from './week.js';

const hour = 3_600_000;
const day = 24 * hour;
const jan1 = 1_767_225_600_000; // Thursday 2026-01-01 00:00 UTC, 01:00 in Paris

describe('weekLines', () => {
  it('WritesTheWindowsInTheSchedulesTimeZoneAndLanguage', () => {
    const week = {
      timeZone: 'Europe/Paris',
      from: jan1,
      to: jan1 + 7 * day,
      mine: [{ start: jan1 + 8 * hour, end: jan1 + 11 * hour }],
      open: [{ start: jan1 + 20 * hour, end: jan1 + day + 1 * hour }],
      closed: [{ start: jan1 + 23 * hour, end: jan1 + day + 23 * hour }],
    };
    const fr = weekLines(week, 'fr');
    expect(fr.mine).toEqual(['jeudi 1 janvier, 09:00 – 12:00']);
    // 21:00 to 02:00 in Paris: past midnight, the end's day is said.
    expect(fr.open).toEqual(['jeudi 1 janvier, 21:00 – vendredi 2 janvier, 02:00']);
    expect(fr.closed).toEqual(['vendredi 2 janvier']);
    const en = weekLines(week, 'en');
    expect(en.mine).toEqual(['Thursday 1 January, 09:00 – 12:00']);
    expect(en.closed).toEqual(['Friday 2 January']);
  });

  it('EndsAWindowAtMidnightOnItsOwnDayAndFollowsTheZone', () => {
    // 18:00-24:00 in Brussels on 1 January: 17:00-23:00 UTC.
    const week = { timeZone: 'Europe/Brussels', from: jan1, to: jan1 + day, mine: [{ start: jan1 + 17 * hour, end: jan1 + 23 * hour }], open: [], closed: [] };
    expect(weekLines(week, 'fr').mine).toEqual(['jeudi 1 janvier, 18:00 – 24:00']);
    expect(weekLines({ ...week, timeZone: 'UTC' }, 'en').mine).toEqual(['Thursday 1 January, 17:00 – 23:00']);
  });
});
