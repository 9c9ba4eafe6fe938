// The cron schedules Kubernetes CronJobs accept (robfig/cron's standard
// parser, as kube-apiserver validates spec.schedule): five fields (minute,
// hour, day of month, month, day of week) with *, ranges, steps, lists and
// three-letter month/day names in any case, or one of the @-macros. Values
// are range checked per field (day of week is 0-6: 7 is refused), steps must
// be positive, and names are the real ones, so a typo like "61 * * * *",
// "*/0 * * * *" or "0 0 * * xyz" is refused at apply time instead of
// surfacing later as a CronJob the operator cannot create. A range must not
// run backwards ("5-2", "sat-sun"): RANGE_ORDER_RULE, a CEL rule, checks that.
// Built as a string because the same pattern goes into the CRD, where the
// API server evaluates it with Go's RE2: no lookaround, no inline flags.

/** Month and day names, as robfig/cron numbers them (months 1-12, days 0-6 from Sunday). */
export const CRON_MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] as const;
export const CRON_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** A name in any case, without (?i): "jan" -> "[jJ][aA][nN]". */
const anyCase = (name: string) => [...name].map((c) => `[${c}${c.toUpperCase()}]`).join('');
const names = (list: readonly string[]) => list.map(anyCase).join('|');

function field(value: string, extra = ''): string {
  const atom = `(\\*${extra}|(${value})(-(${value}))?)`;
  // robfig refuses a step of 0 ("step of range should be a positive number").
  const item = `${atom}(/(0?[1-9]|[1-9][0-9]))?`;
  return `${item}(,${item})*`;
}

const MINUTE = field('[0-5]?[0-9]');
const HOUR = field('[01]?[0-9]|2[0-3]');
const DAY_OF_MONTH = field('0?[1-9]|[12][0-9]|3[01]', '|\\?');
const MONTH = field(`0?[1-9]|1[0-2]|${names(CRON_MONTHS)}`);
const DAY_OF_WEEK = field(`[0-6]|${names(CRON_DAYS)}`, '|\\?');
const MACRO = '@(yearly|annually|monthly|weekly|daily|midnight|hourly)';

export const CRON_PATTERN = `^(${MACRO}|${[MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK].join('[ \\t]+')})$`;

/** Every range's two ends (numbers or names), as the CEL rule finds them. */
const RANGE = '[0-9A-Za-z]+-[0-9A-Za-z]+';
const NAME_VALUES: Record<string, number> = {
  ...Object.fromEntries(CRON_MONTHS.map((m, i) => [m, i + 1])),
  ...Object.fromEntries(CRON_DAYS.map((d, i) => [d, i])),
};
const celMap = `{${Object.entries(NAME_VALUES).map(([k, v]) => `'${k}': ${v}`).join(', ')}}`;
const celValue = (x: string) => `(${x}.matches('^[0-9]+$') ? int(${x}) : (${x}.lowerAscii() in ${celMap} ? ${celMap}[${x}.lowerAscii()] : 0))`;

/** CEL: no range of the schedule runs backwards (robfig: "beginning of range beyond end of range"). */
export const RANGE_ORDER_RULE = `self.findAll('${RANGE}').all(r, ${celValue("r.split('-')[0]")} <= ${celValue("r.split('-')[1]")})`;

const valueOf = (x: string) => (/^[0-9]+$/.test(x) ? Number(x) : (NAME_VALUES[x.toLowerCase()] ?? 0));
/** The same check as RANGE_ORDER_RULE, in TypeScript. */
export function rangesInOrder(schedule: string): boolean {
  return [...schedule.matchAll(new RegExp(RANGE, 'g'))].every((m) => {
    const [a = '', b = ''] = m[0].split('-');
    return valueOf(a) <= valueOf(b);
  });
}
