// Regenerates test/fixtures/performance/metrics.json: builds (or reuses) the
// cached venv of hack/requirements-performance.txt and runs
// hack/performance-fixtures.py with it.
//   npx tsx hack/performance-fixtures.ts
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ensurePythonVenv } from '../test/fixtures/models/python-venv.js';

const here = import.meta.dirname;
const python = await ensurePythonVenv(
  { name: 'performance', purpose: 'the performance metric fixtures', requirements: [join(here, 'requirements-performance.txt')] },
  (line) => process.stderr.write(`${line}\n`),
);
execFileSync(python, [join(here, 'performance-fixtures.py')], { stdio: 'inherit' });
