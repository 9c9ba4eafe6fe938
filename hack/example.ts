// Data and traffic for the retrain walk-through (docs/walkthrough.md, manifests/examples/):
//
//   npx tsx hack/example.ts data               bucket fluxora-examples on the local MinIO: three churn
//                                              data sets and v1, trained by the built-in trainer
//   npx tsx hack/example.ts traffic --url U    600 inference requests from the "new world" to the
//                                              Model's endpoint U (http://<Service ClusterIP>:8080)
//
// Storage settings come from the environment: eval "$(bash hack/minio.sh env)".
// The worlds: v1 learns churn from tenure, monthly_spend and support_calls as
// they were; later the inputs shift and what drives churn changes, so drift
// is real and a retrained model really is better.
import { parseArgs } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { resolveS3Config, writeObject } from '../src/storage/index.js';
import { normal, seededRandom } from '../src/training/random.js';
import { train } from '../src/training/train.js';

export const BUCKET = 'fluxora-examples';
export const COLUMNS = ['tenure', 'monthly_spend', 'support_calls'] as const;
const OLD = { shift: 0, weights: [-1.2, 0.8, 1.0], bias: -0.5 };
const NEW = { shift: 1.5, weights: [0.4, -1.0, 1.6], bias: -1.5 };

/** Standardised units keep the example simple: 0 is the historical average of each column. */
function rows(n: number, seed: number, world: typeof OLD): number[][] {
  const rnd = seededRandom(seed);
  const g = normal(rnd);
  return Array.from({ length: n }, () => {
    const x = COLUMNS.map(() => Number((g() + world.shift).toFixed(4)));
    const z = world.bias + x.reduce((s, v, j) => s + v * world.weights[j]!, 0);
    return [...x, rnd() < 1 / (1 + Math.exp(-z)) ? 1 : 0];
  });
}

const csv = (data: number[][]) => [[...COLUMNS, 'churned'].join(','), ...data.map((r) => r.join(','))].join('\n') + '\n';

async function data(): Promise<void> {
  const cfg = resolveS3Config();
  const s3 = new S3Client({ endpoint: cfg.endpoint, region: cfg.region, forcePathStyle: cfg.forcePathStyle, ...(cfg.credentials ? { credentials: cfg.credentials } : {}) });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } catch (e) {
    if ((e as Error).name !== 'BucketAlreadyOwnedByYou') throw e;
  } finally {
    s3.destroy();
  }
  const base = `s3://${BUCKET}/churn`;
  await writeObject(`${base}/data/history.csv`, csv(rows(5000, 1, OLD)));
  await writeObject(`${base}/data/reference.csv`, csv(rows(2000, 2, OLD)));
  await writeObject(`${base}/data/recent.csv`, csv(rows(5000, 3, NEW)));
  const v1 = await train({
    datasetUri: `${base}/data/history.csv`,
    outputUri: `${base}/v1/`,
    modelFeatures: COLUMNS.map((name) => ({ name, type: 'numeric' })),
    builtin: { algorithm: 'logistic', target: 'churned', seed: 1, validationSplit: 0.2 },
  });
  await writeObject(`${base}/v1/model.onnx`, v1.model);
  await writeObject(`${base}/v1/metrics.json`, JSON.stringify(v1.metrics, null, 2));
  process.stdout.write(`wrote ${base}/data/{history,reference,recent}.csv and ${base}/v1/model.onnx (auc ${(v1.metrics.auc as number).toFixed(3)})\n`);
}

async function traffic(url: string, count: number, model: string): Promise<void> {
  const all = rows(count, 7, NEW);
  let sent = 0;
  for (let i = 0; i < all.length; i += 50) {
    const batch = all.slice(i, i + 50).map((r) => r.slice(0, COLUMNS.length));
    const res = await fetch(`${url.replace(/\/$/, '')}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'x', shape: [batch.length, COLUMNS.length], datatype: 'FP32', data: batch.flat() }] }),
    });
    if (!res.ok) throw new Error(`infer answered ${res.status}: ${await res.text()}`);
    sent += batch.length;
  }
  process.stdout.write(`sent ${sent} rows from the shifted world to ${model} at ${url}\n`);
}

const { values, positionals } = parseArgs({
  options: { url: { type: 'string' }, rows: { type: 'string', default: '600' }, model: { type: 'string', default: 'churn' } },
  allowPositionals: true,
});
const command = positionals[0];
if (command === 'data') await data();
else if (command === 'traffic' && values.url) await traffic(values.url, Number(values.rows), values.model);
else {
  process.stderr.write('usage: npx tsx hack/example.ts data | traffic --url http://HOST:8080 [--rows N] [--model NAME]\n');
  process.exitCode = 2;
}
