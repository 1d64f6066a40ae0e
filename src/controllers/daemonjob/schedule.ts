// A DaemonJob's cron schedule, as a pure function of the clock: which scheduled time is due now,
// given the last one started, as the CronJob controller decides it (the most recent unmet time
// wins; earlier ones are collapsed into it; past startingDeadlineSeconds it is missed).
import { Cron } from 'croner';

/** Unmet times counted at most: past this many, the Event says "more than". */
export const MAX_COUNTED = 100;

export type Parsed = { cron: Cron; error?: undefined } | { error: { reason: string; message: string } };

/** Parses the schedule in its time zone (UTC by default); an error says what to fix. */
export function parseSchedule(schedule: string, timeZone = 'UTC'): Parsed {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    return {
      error: {
        reason: 'InvalidTimeZone',
        message: `spec.timeZone "${timeZone}" is not a time zone this operator knows: use an IANA name such as Europe/Berlin or UTC`,
      },
    };
  }
  const invalid = (why: string) => ({
    error: { reason: 'InvalidSchedule', message: `spec.schedule "${schedule}" ${why}` },
  });
  let cron: Cron;
  try {
    cron = new Cron(schedule.trim(), { mode: '5-part', timezone: timeZone, paused: true });
  } catch (e) {
    return invalid(`is not valid: ${(e as Error).message.replace(/^CronPattern: /, '')}`);
  }
  // A date that never comes (30 February) would leave the DaemonJob waiting forever unnoticed.
  if (neverMatches(cron, `${timeZone} ${schedule}`)) return invalid('never matches a date');
  return { cron };
}

/**
 * Whether a schedule never matches, remembered per schedule and zone: croner searches years ahead
 * for one that does not (about 10 ms), and every reconcile of the DaemonJob parses it again.
 */
const matchless = new Map<string, boolean>();
function neverMatches(cron: Cron, key: string): boolean {
  let never = matchless.get(key);
  if (never === undefined) {
    if (matchless.size >= 256) matchless.clear();
    never = !cron.nextRun(new Date(0));
    matchless.set(key, never);
  }
  return never;
}

export interface Due {
  /** The scheduled time to start a run for now, if any. */
  time?: Date;
  /** A scheduled time that came but is past startingDeadlineSeconds: it never starts. */
  missed?: Date;
  /** Unmet scheduled times collapsed into `time` or `missed`, besides it (at most MAX_COUNTED + 1). */
  earlier: number;
  /** The next scheduled time after now. */
  next?: Date;
}

export interface DueInput {
  cron: Cron;
  now: Date;
  /** The scheduled time of the last run started, or the DaemonJob's creation before the first. */
  since: Date;
  startingDeadlineSeconds?: number;
}

/** The most recent scheduled time in (since, now], and whether it may still start. */
export function dueTime({ cron, now, since, startingDeadlineSeconds }: DueInput): Due {
  const nowMs = now.getTime();
  const next = cron.nextRun(now) ?? undefined;
  // croner counts back from strictly before its reference: one second past now includes now.
  const latest = cron.previousRuns(2, new Date(nowMs + 1000)).find((t) => t.getTime() <= nowMs);
  if (!latest || latest.getTime() <= since.getTime()) return { earlier: 0, next };
  let earlier = 0;
  for (const t of cron.nextRuns(MAX_COUNTED + 1, since)) {
    if (t.getTime() >= latest.getTime()) break;
    earlier++;
  }
  const late =
    startingDeadlineSeconds !== undefined && latest.getTime() + startingDeadlineSeconds * 1000 < nowMs;
  return late ? { missed: latest, earlier, next } : { time: latest, earlier, next };
}
