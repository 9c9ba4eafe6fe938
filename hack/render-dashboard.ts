// Screenshot of the chart's Grafana dashboard for the docs (docs/dashboard.png),
// from real Prometheus data: run the observability test with a snapshot file,
// then render it with headless Chromium (Debian's `chromium` package):
//
//   FLUXORA_DASHBOARD_SNAPSHOT=/tmp/dashboard-snapshot.json \
//     npx vitest run --project integration test/integration/observability.test.ts
//   npx tsx hack/render-dashboard.ts /tmp/dashboard-snapshot.json docs/dashboard.png
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadDashboard } from '../test/support/grafana-dashboard.js';
import { PAGE_WIDTH, renderPage, type Snapshot } from './render-dashboard-html.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

function readSnapshot(path: string): Snapshot {
  let s: Partial<Snapshot>;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as Partial<Snapshot>;
  } catch (e) {
    throw new Error(`${path}: not a readable JSON snapshot (${(e as Error).message})`);
  }
  if (typeof s.start !== 'string' || typeof s.end !== 'string' || typeof s.step !== 'number' || typeof s.results !== 'object' || s.results === null) {
    throw new Error(`${path}: not a dashboard snapshot (needs start, end, step, results); write one with FLUXORA_DASHBOARD_SNAPSHOT`);
  }
  return { ...(s as Snapshot), title: s.title ?? 'Fluxora', variables: s.variables ?? {} };
}

async function main(): Promise<void> {
  const [snapshotPath, outArg] = process.argv.slice(2);
  if (!snapshotPath) throw new Error('usage: tsx hack/render-dashboard.ts <snapshot.json> [out.png (default docs/dashboard.png)]');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install --no-install-recommends chromium (or set CHROMIUM)`);
  const out = resolve(outArg ?? join(import.meta.dirname, '..', 'docs', 'dashboard.png'));
  const { html, height } = renderPage(loadDashboard(), readSnapshot(snapshotPath));
  const dir = await mkdtemp(join(tmpdir(), 'fluxora-render-'));
  try {
    const page = join(dir, 'dashboard.html');
    await writeFile(page, html);
    await promisify(execFile)(
      CHROMIUM,
      [
        '--headless',
        '--no-sandbox', // root in CI containers; the page is our own file
        '--disable-gpu',
        '--hide-scrollbars',
        `--user-data-dir=${join(dir, 'profile')}`,
        `--window-size=${PAGE_WIDTH},${height}`,
        `--screenshot=${out}`,
        `file://${page}`,
      ],
      { timeout: 120_000 },
    );
    if (!(await stat(out)).size) throw new Error(`chromium wrote an empty ${out}`);
    console.log(`${out}: ${PAGE_WIDTH}x${height}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
