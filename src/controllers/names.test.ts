import { describe, expect, it } from 'vitest';
import { driftCheckName } from './drift-monitor/children.js';
import { childName } from './names.js';
import { trainerJobName } from './retrain-job/job.js';

describe('childName', () => {
  it('keeps a name that fits as it is', () => {
    expect(childName('churn-drift', 'drift-check', 52)).toBe('churn-drift-drift-check');
    expect(childName('a'.repeat(63), '', 63)).toBe('a'.repeat(63));
  });

  it('gives two long names with a common prefix different children, within the limit', () => {
    const a = childName(`${'m'.repeat(45)}-first`, 'drift-check', 52);
    const b = childName(`${'m'.repeat(45)}-second`, 'drift-check', 52);
    expect(a).not.toBe(b);
    for (const n of [a, b]) {
      expect(n.length).toBeLessThanOrEqual(52);
      expect(n).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(n.endsWith('-drift-check')).toBe(true);
    }
  });

  it('is deterministic and does not leave a dash before the hash', () => {
    const name = `${'x'.repeat(29)}-${'y'.repeat(40)}`;
    expect(childName(name, 'drift-check', 52)).toBe(childName(name, 'drift-check', 52));
    expect(childName(name, 'drift-check', 52)).not.toMatch(/--/);
    expect(childName(`${'r'.repeat(70)}`, '', 63)).toHaveLength(63);
  });
});

describe('names of children', () => {
  const monitor = (name: string) => ({ metadata: { name } }) as Parameters<typeof driftCheckName>[0];
  const retrain = (name: string) => ({ metadata: { name } }) as Parameters<typeof trainerJobName>[0];

  it('two DriftMonitors sharing their first 40 characters get different CronJobs (and RBAC)', () => {
    const prefix = 'churn-prediction-model-for-the-eu-region';
    expect(prefix).toHaveLength(40);
    expect(driftCheckName(monitor(`${prefix}-hourly`))).not.toBe(driftCheckName(monitor(`${prefix}-daily`)));
    expect(driftCheckName(monitor('churn-drift'))).toBe('churn-drift-drift-check');
  });

  it('two RetrainJobs sharing their first 63 characters get different Jobs', () => {
    const prefix = 'r'.repeat(63);
    expect(trainerJobName(retrain(`${prefix}-a`))).not.toBe(trainerJobName(retrain(`${prefix}-b`)));
    expect(trainerJobName(retrain('churn-retrain-1'))).toBe('churn-retrain-1');
  });
});
