// The week view's sentences: the schedule's windows written in the schedule's own time zone
// (the worker may be travelling; the permanence keeps its hours), in her language.
import type { Lang } from './strings.js';
import type { Span, WeekView } from './desk.js';

/** The three lists of the week view, each line ready to show. */
export interface WeekLines {
  mine: string[];
  open: string[];
  closed: string[];
}

function formatters(lang: Lang, timeZone: string) {
  const locale = lang === 'fr' ? 'fr-FR' : 'en-GB';
  return {
    day: new Intl.DateTimeFormat(locale, { timeZone, weekday: 'long', day: 'numeric', month: 'long' }),
    time: new Intl.DateTimeFormat(locale, { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
  };
}

/** "jeudi 1 janvier, 09:00 – 12:00"; a window past midnight says the day it ends. */
function windowLine(f: ReturnType<typeof formatters>, s: Span): string {
  const startDay = f.day.format(s.start);
  // The end is exclusive: a window ending at midnight belongs to the day it started.
  const endDay = f.day.format(s.end - 1);
  const end = f.time.format(s.end) === '00:00' && endDay === startDay ? '24:00' : f.time.format(s.end);
  return endDay === startDay ? `${startDay}, ${f.time.format(s.start)} – ${end}` : `${startDay}, ${f.time.format(s.start)} – ${endDay}, ${end}`;
}

/** The week as lines in `lang`, times in the schedule's zone. */
export function weekLines(week: WeekView, lang: Lang): WeekLines {
  const f = formatters(lang, week.timeZone);
  return {
    mine: week.mine.map((s) => windowLine(f, s)),
    open: week.open.map((s) => windowLine(f, s)),
    closed: week.closed.map((s) => f.day.format(s.start)),
  };
}
