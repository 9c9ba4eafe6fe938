// The cron schedules Kubernetes CronJobs accept: five fields (minute, hour,
// day of month, month, day of week) with *, ranges, steps, lists and
// three-letter month/day names, or one of the @-macros. Values are range
// checked per field so a typo like "61 * * * *" is refused at apply time
// instead of surfacing later as a CronJob the operator cannot create.
// Built as a string because the same pattern goes into the CRD, where the
// API server evaluates it with Go's RE2: no lookaround, no inline flags.

const NAME = '[A-Za-z]{3}';

function field(value: string, extra = ''): string {
  const atom = `(\\*${extra}|(${value})(-(${value}))?)`;
  const item = `${atom}(/[0-9]{1,2})?`;
  return `${item}(,${item})*`;
}

const MINUTE = field('[0-5]?[0-9]');
const HOUR = field('[01]?[0-9]|2[0-3]');
const DAY_OF_MONTH = field('0?[1-9]|[12][0-9]|3[01]', '|\\?');
const MONTH = field(`0?[1-9]|1[0-2]|${NAME}`);
const DAY_OF_WEEK = field(`[0-7]|${NAME}`, '|\\?');
const MACRO = '@(yearly|annually|monthly|weekly|daily|midnight|hourly)';

export const CRON_PATTERN = `^(${MACRO}|${[MINUTE, HOUR, DAY_OF_MONTH, MONTH, DAY_OF_WEEK].join('[ \\t]+')})$`;
