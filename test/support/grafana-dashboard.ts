// Reads the chart's Grafana dashboard the way Grafana does for what the tests
// and the screenshot renderer need: its panels' PromQL targets, its template
// variables, and variable substitution.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DASHBOARD_PATH = join(import.meta.dirname, '..', '..', 'charts', 'fluxora-operator', 'dashboards', 'fluxora.json');

export interface DataSourceRef {
  type?: string;
  uid?: string;
}

export interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  format?: string;
  datasource?: DataSourceRef;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: DataSourceRef;
  fieldConfig?: { defaults?: { unit?: string; min?: number }; overrides?: { matcher: { id: string; options: string }; properties: { id: string; value: unknown }[] }[] };
  targets?: Target[];
  panels?: Panel[];
}

export interface Variable {
  name: string;
  type: string;
  query?: string | { query: string };
  datasource?: DataSourceRef;
}

export interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

export function loadDashboard(path = DASHBOARD_PATH): Dashboard {
  return JSON.parse(readFileSync(path, 'utf8')) as Dashboard;
}

/** Every panel, with the panels of collapsed rows, in dashboard order. */
export function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}

/** Grafana's built-in variables the dashboard may use, as the tests and the renderer resolve them. */
export interface BuiltIns {
  rateInterval: string;
  interval: string;
  range: string;
}

const BUILT_IN_NAMES = { __rate_interval: 'rateInterval', __interval: 'interval', __range: 'range' } as const;

/**
 * Replaces $name, ${name} and [[name]] with the given values. A reference to
 * a variable that has no value is an error: Grafana would send it to
 * Prometheus verbatim and the panel would fail.
 */
export function substitute(expr: string, values: Record<string, string>, builtIns: BuiltIns): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = (a ?? b ?? c)!;
    const builtIn = BUILT_IN_NAMES[name as keyof typeof BUILT_IN_NAMES];
    const value = builtIn ? builtIns[builtIn] : values[name];
    if (value === undefined) throw new Error(`"${whole}" in ${expr} names no variable of the dashboard`);
    return value;
  });
}

/** The `label_values(selector, label)` of a query variable. */
export function labelValuesQuery(v: Variable): { selector: string; label: string } {
  const q = typeof v.query === 'string' ? v.query : v.query?.query;
  const m = /^label_values\((.+),\s*(\w+)\)$/.exec(q?.trim() ?? '');
  if (!m) throw new Error(`variable ${v.name}: expected label_values(<selector>, <label>), got ${JSON.stringify(q)}`);
  return { selector: m[1]!, label: m[2]! };
}

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile']);
const WITH_LABEL_LIST = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['offset', 'bool', 'and', 'or', 'unless', 'atan2', 'inf', 'nan', 'Inf', 'NaN']);

function skipString(s: string, i: number): number {
  const quote = s[i];
  for (let j = i + 1; j < s.length; j++) {
    if (s[j] === '\\' && quote !== '`') j++;
    else if (s[j] === quote) return j + 1;
  }
  throw new Error(`unterminated string in ${s}`);
}

function closing(s: string, i: number, open: string, close: string): number {
  for (let j = i + 1; j < s.length; ) {
    const c = s[j]!;
    if (c === '"' || c === "'" || c === '`') j = skipString(s, j);
    else if (c === close) return j;
    else if (c === open) j = closing(s, j, open, close) + 1;
    else j++;
  }
  throw new Error(`no closing ${close} in ${s}`);
}

/**
 * The instant-vector selectors of a PromQL expression (`name{matchers}`,
 * `name`, `{matchers}`), without range, offset or function: what must match
 * series for the expression to be about real data. A small tokenizer (there
 * is no PromQL parser for Node), enough for the expressions Fluxora ships.
 */
export function vectorSelectors(expr: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === '"' || c === "'" || c === '`') i = skipString(expr, i);
    else if (c === '#') i = expr.includes('\n', i) ? expr.indexOf('\n', i) : expr.length;
    else if (c === '[') i = closing(expr, i, '[', ']') + 1;
    else if (c === '{') {
      const end = closing(expr, i, '{', '}');
      out.push(expr.slice(i, end + 1));
      i = end + 1;
    } else if (/[0-9.]/.test(c)) {
      while (i < expr.length && /[0-9a-zA-Z.+]/.test(expr[i]!)) i++; // numbers, durations, 1e3
    } else if (/[a-zA-Z_:]/.test(c)) {
      let j = i;
      while (j < expr.length && /[a-zA-Z0-9_:]/.test(expr[j]!)) j++;
      const ident = expr.slice(i, j);
      let k = j;
      while (k < expr.length && /\s/.test(expr[k]!)) k++;
      if (WITH_LABEL_LIST.has(ident) && expr[k] === '(') i = closing(expr, k, '(', ')') + 1;
      else if (KEYWORDS.has(ident) || AGGREGATIONS.has(ident) || expr[k] === '(') i = j; // an operator or a function call
      else if (expr[k] === '{') {
        const end = closing(expr, k, '{', '}');
        out.push(ident + expr.slice(k, end + 1));
        i = end + 1;
      } else {
        out.push(ident);
        i = j;
      }
    } else i++;
  }
  return out;
}
