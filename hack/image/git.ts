// What the image says about its source: the commit, whether the tree had
// changes on top of it, and the commit's time, which stands in for "now"
// wherever a build would otherwise stamp the clock (so rebuilding the same
// commit gives the same bytes).
import { run, tryRun } from './exec.js';

export interface SourceInfo {
  /** HEAD's hash, with "-dirty" when tracked or untracked files differ from it. */
  revision: string;
  /** HEAD's commit time, seconds since the epoch. */
  epoch: number;
  /** The same instant in RFC 3339 (UTC, whole seconds). */
  created: string;
}

export function sourceInfo(root: string): SourceInfo {
  const head = tryRun('git', ['-C', root, 'rev-parse', 'HEAD']);
  if (!head.ok) throw new Error(`${root} is not a git checkout: the image's revision and creation time come from its HEAD commit`);
  const dirty = run('git', ['-C', root, 'status', '--porcelain', '--untracked-files=normal']).trim() !== '';
  const epoch = Number(run('git', ['-C', root, 'log', '-1', '--format=%ct', 'HEAD']).trim());
  return { revision: `${head.stdout.trim()}${dirty ? '-dirty' : ''}`, epoch, created: rfc3339(epoch) };
}

export function rfc3339(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
