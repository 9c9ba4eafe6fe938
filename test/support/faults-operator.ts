// The operator as a real child process that may be killed at any moment,
// even before it has started: launchOperator (cluster.ts; startOperator waits
// for the start, which a fault schedule must not), plus metrics helpers.
import { scrape, type OperatorRun } from './cluster.js';

export { launchOperator, type OperatorRun } from './cluster.js';

/** Metrics text from a running operator's /metrics. */
export async function scrapeOperator(op: OperatorRun): Promise<string> {
  const port = op.logs.find((l) => l.msg === 'operator started')?.metricsPort as number | undefined;
  if (!port) throw new Error('the operator has not started: no metrics port yet');
  return scrape(port);
}

/** Sum of a counter over all its label sets in Prometheus text format. */
export function counterTotal(metrics: string, name: string, labelFilter?: RegExp): number {
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labelFilter && !labelFilter.test(line)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
