// The schedule module as table tests: which scheduled time is due, given the last one started and
// the clock, in time zones and across daylight saving changes; and what a bad schedule reports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { daemonJobSpec } from '../../src/api/daemonjob.ts';
import { validate } from '../../src/api/schema.ts';
import { dueTime, parseSchedule } from '../../src/controllers/daemonjob/schedule.ts';

const cronOf = (schedule: string, timeZone?: string) => {
  const parsed = parseSchedule(schedule, timeZone);
  if (parsed.error) throw new Error(parsed.error.message);
  return parsed.cron;
};
const iso = (d: Date | undefined) => d?.toISOString().replace('.000Z', 'Z');

describe('dueTime', () => {
  const cases: {
    name: string;
    schedule: string;
    timeZone?: string;
    since: string;
    now: string;
    deadline?: number;
    want: { time?: string; missed?: string; earlier: number; next: string };
  }[] = [
    {
      name: 'nothing due before the first time after creation',
      schedule: '* * * * *',
      since: '2026-06-01T10:00:10Z',
      now: '2026-06-01T10:00:50Z',
      want: { earlier: 0, next: '2026-06-01T10:01:00Z' },
    },
    {
      name: 'a time is due at its very second',
      schedule: '* * * * *',
      since: '2026-06-01T10:00:00Z',
      now: '2026-06-01T10:01:00Z',
      want: { time: '2026-06-01T10:01:00Z', earlier: 0, next: '2026-06-01T10:02:00Z' },
    },
    {
      name: 'the last time started is not due again',
      schedule: '* * * * *',
      since: '2026-06-01T10:01:00Z',
      now: '2026-06-01T10:01:59Z',
      want: { earlier: 0, next: '2026-06-01T10:02:00Z' },
    },
    {
      name: 'unmet times collapse into the most recent',
      schedule: '* * * * *',
      since: '2026-06-01T10:00:00Z',
      now: '2026-06-01T10:03:10Z',
      want: { time: '2026-06-01T10:03:00Z', earlier: 2, next: '2026-06-01T10:04:00Z' },
    },
    {
      name: 'within startingDeadlineSeconds it still starts',
      schedule: '* * * * *',
      since: '2026-06-01T10:00:00Z',
      now: '2026-06-01T10:03:10Z',
      deadline: 10,
      want: { time: '2026-06-01T10:03:00Z', earlier: 2, next: '2026-06-01T10:04:00Z' },
    },
    {
      name: 'past startingDeadlineSeconds it is missed',
      schedule: '*/5 * * * *',
      since: '2026-06-01T10:00:00Z',
      now: '2026-06-01T10:06:00Z',
      deadline: 30,
      want: { missed: '2026-06-01T10:05:00Z', earlier: 0, next: '2026-06-01T10:10:00Z' },
    },
    {
      name: 'more than 100 unmet times are counted as 101',
      schedule: '* * * * *',
      since: '2026-05-30T00:00:00Z',
      now: '2026-06-01T10:00:30Z',
      want: { time: '2026-06-01T10:00:00Z', earlier: 101, next: '2026-06-01T10:01:00Z' },
    },
    {
      name: 'a macro in a time zone: @daily is midnight in Berlin (22:00 UTC in summer)',
      schedule: '@daily',
      timeZone: 'Europe/Berlin',
      since: '2026-06-01T12:00:00Z',
      now: '2026-06-01T22:00:05Z',
      want: { time: '2026-06-01T22:00:00Z', earlier: 0, next: '2026-06-02T22:00:00Z' },
    },
    {
      name: 'weekdays at 9:00 in Kolkata (UTC+5:30): Friday, then Monday',
      schedule: '0 9 * * 1-5',
      timeZone: 'Asia/Kolkata',
      since: '2026-06-04T03:30:00Z',
      now: '2026-06-05T03:31:00Z',
      want: { time: '2026-06-05T03:30:00Z', earlier: 0, next: '2026-06-08T03:30:00Z' },
    },
    {
      name: 'DST spring forward: 2:30 does not exist in New York on 8 March; it runs at 3:00 EDT',
      schedule: '30 2 * * *',
      timeZone: 'America/New_York',
      since: '2026-03-07T07:30:00Z',
      now: '2026-03-08T07:00:30Z',
      want: { time: '2026-03-08T07:00:00Z', earlier: 0, next: '2026-03-09T06:30:00Z' },
    },
    {
      name: 'DST fall back: 1:30 comes twice in New York on 1 November; it runs once',
      schedule: '30 1 * * *',
      timeZone: 'America/New_York',
      since: '2026-11-01T05:30:00Z',
      now: '2026-11-01T06:45:00Z',
      want: { earlier: 0, next: '2026-11-02T06:30:00Z' },
    },
    {
      name: 'an interval schedule runs on real time across fall back (1:00 EDT and 1:00 EST)',
      schedule: '0 * * * *',
      timeZone: 'America/New_York',
      since: '2026-11-01T05:00:00Z',
      now: '2026-11-01T06:00:10Z',
      want: { time: '2026-11-01T06:00:00Z', earlier: 0, next: '2026-11-01T07:00:00Z' },
    },
  ];
  for (const c of cases)
    it(c.name, () => {
      const due = dueTime({
        cron: cronOf(c.schedule, c.timeZone),
        since: new Date(c.since),
        now: new Date(c.now),
        startingDeadlineSeconds: c.deadline,
      });
      assert.deepEqual(
        { time: iso(due.time), missed: iso(due.missed), earlier: due.earlier, next: iso(due.next) },
        { time: undefined, missed: undefined, ...c.want },
      );
    });
});

describe('parseSchedule', () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ['* * * * *', undefined, undefined],
    ['@hourly', 'Europe/Berlin', undefined],
    ['0 0 L * *', 'UTC', undefined],
    ['61 * * * *', undefined, 'InvalidSchedule'],
    ['0 0 31 2 *', undefined, 'InvalidSchedule'],
    ['* * * * * *', undefined, 'InvalidSchedule'],
    ['* * * * *', 'Mars/Olympus_Mons', 'InvalidTimeZone'],
  ];
  for (const [schedule, timeZone, reason] of cases)
    it(`${schedule} ${timeZone ?? ''} → ${reason ?? 'valid'}`, () => {
      const parsed = parseSchedule(schedule, timeZone);
      assert.equal(parsed.error?.reason, reason, parsed.error?.message);
      if (reason === 'InvalidSchedule') assert.match(parsed.error?.message ?? '', /spec\.schedule/);
    });

  it('says why a date never comes', () => {
    assert.match(parseSchedule('0 0 31 2 *').error?.message ?? '', /never matches a date/);
  });
});

describe('DaemonJob schedule fields at kubectl apply (the same rules as the CRD CEL)', () => {
  const spec = (extra: object) => ({
    template: { spec: { containers: [{ name: 'c', image: 'c' }] } },
    ...extra,
  });
  const cases: [object, RegExp | undefined][] = [
    [{ schedule: '*/5 * * * *', timeZone: 'America/Argentina/Buenos_Aires' }, undefined],
    [{ schedule: '@weekly', concurrencyPolicy: 'Replace', startingDeadlineSeconds: 60 }, undefined],
    [{ schedule: 'TZ=UTC * * * * *' }, /schedule must be 5 cron fields/],
    [{ schedule: '* * * *' }, /schedule must be 5 cron fields/],
    [{ schedule: '@every 1h' }, /schedule must be 5 cron fields/],
    [{ schedule: '* * * * *', timeZone: 'UTC+1 ' }, /timeZone must be an IANA time zone name/],
    [{ schedule: '* * * * *', concurrencyPolicy: 'Allow' }, /must be one of Forbid, Replace/],
    [{ schedule: '* * * * *', successfulRunsHistoryLimit: 51 }, /at most 50/],
    [{ timeZone: 'UTC' }, /apply only with a schedule/],
    [{ failedRunsHistoryLimit: 2 }, /apply only with a schedule/],
  ];
  for (const [extra, error] of cases)
    it(`${JSON.stringify(extra)} → ${error ?? 'valid'}`, () => {
      const errors = validate(daemonJobSpec, spec(extra));
      if (error) assert.match(errors.join('\n'), error);
      else assert.deepEqual(errors, []);
    });
});
