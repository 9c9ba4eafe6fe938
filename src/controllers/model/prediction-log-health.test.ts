import { describe, expect, it } from 'vitest';
import { getCondition, type Condition } from '../../runtime/conditions.js';
import {
  parsePodLogStatus,
  PREDICTION_LOG_LOSING,
  predictionLogVerdict,
  withPredictionLogCondition,
  type PodLogReport,
  type PodLogStatus,
} from './prediction-log-health.js';

const CTX = { uri: 's3://ml-logs/predictions', maxBufferedRecords: 10000 };
const NOW = new Date('2026-03-14T15:40:00Z');

const fine = (pod: string, over: Partial<PodLogStatus> = {}): PodLogReport => ({
  pod,
  state: 'reported',
  status: { dropped: 0, failed: 0, losing: false, lastWriteTime: '2026-03-14T15:39:50.000Z', ...over },
});
const failing = (pod: string, over: Partial<PodLogStatus> = {}): PodLogReport =>
  fine(pod, {
    failed: 120,
    losing: true,
    lastLossTime: '2026-03-14T15:39:00.000Z',
    lastError: 's3://ml-logs/predictions/model=churn/x.jsonl.gz: bucket "ml-logs" does not exist',
    lastWriteTime: undefined,
    ...over,
  });
const silent = (pod: string, error = 'cannot connect (ECONNREFUSED)'): PodLogReport => ({ pod, state: 'silent', error });

describe('parsePodLogStatus', () => {
  it('reads the fields the condition needs from a pod that logs, and ignores the others', () => {
    const json = { enabled: true, uri: 's3://b/p', buffered: 3, writing: 0, written: 10, dropped: 2, failed: 1, lastLossTime: 't1', lastError: 'boom', losing: true };
    expect(parsePodLogStatus(json)).toEqual({ enabled: true, status: { dropped: 2, failed: 1, losing: true, lastLossTime: 't1', lastError: 'boom' } });
  });
  it('knows a pod without a log', () => {
    expect(parsePodLogStatus({ enabled: false })).toEqual({ enabled: false });
  });
  it.each([
    ['not an object', 'ok'],
    ['null', null],
    ['no enabled', { dropped: 0, failed: 0, losing: false }],
    ['a count that is not a count', { enabled: true, dropped: -1, failed: 0, losing: false }],
    ['losing not a boolean', { enabled: true, dropped: 0, failed: 0, losing: 'yes' }],
    ['an error that is not text', { enabled: true, dropped: 0, failed: 0, losing: true, lastError: { code: 1 } }],
  ])('refuses an answer that is not a prediction-log status: %s', (_what, json) => {
    expect(() => parsePodLogStatus(json)).toThrow(/not a prediction-log status/);
  });
});

describe('predictionLogVerdict', () => {
  it('True, WritesFailing, naming only the losing pod, its counts, its error and what to do', () => {
    const v = predictionLogVerdict([fine('churn-b'), failing('churn-a')], CTX);
    expect(v.status).toBe('True');
    expect(v.reason).toBe('WritesFailing');
    expect(v.message).toBe(
      '1 of 2 ready pods lost prediction-log records in the last 5 minutes: pod churn-a (0 dropped, 120 failed since the server started; ' +
        'last loss 2026-03-14T15:39:00.000Z; last error: s3://ml-logs/predictions/model=churn/x.jsonl.gz: bucket "ml-logs" does not exist). ' +
        'Writes to s3://ml-logs/predictions fail: check that the bucket exists and is reachable from the pods, and that the credentials ' +
        "(predictionLog.credentialsSecretRef, else the artifact's) allow s3:PutObject there; pods read their credentials at start, so restart them after changing the Secret.",
    );
    expect(v.message).not.toContain('churn-b');
  });

  it('WritesFailing wins when one pod fails writes and another only drops', () => {
    const dropping = fine('churn-b', { dropped: 40, losing: true, lastLossTime: '2026-03-14T15:39:30.000Z' });
    expect(predictionLogVerdict([dropping, failing('churn-a')], CTX).reason).toBe('WritesFailing');
  });

  it('True, RecordsDropped when writes succeed but the buffer overflowed, with maxBufferedRecords in the advice', () => {
    const v = predictionLogVerdict([fine('churn-a', { dropped: 512, losing: true, lastLossTime: '2026-03-14T15:39:00.000Z' })], { ...CTX, maxBufferedRecords: 500 });
    expect(v).toMatchObject({ status: 'True', reason: 'RecordsDropped' });
    expect(v.message).toContain('1 of 1 ready pod lost prediction-log records');
    expect(v.message).toContain('pod churn-a (512 dropped, 0 failed since the server started; last loss 2026-03-14T15:39:00.000Z)');
    expect(v.message).toContain('maxBufferedRecords (500)');
    expect(v.message).toContain('Raise spec.serving.predictionLog.maxBufferedRecords');
    // Drops come between successful writes: nothing "succeeds again".
    expect(v.message).not.toContain('succeed again');
    expect(v.message).toMatch(/The condition clears 5 minutes after the last drop\.$/);
  });

  it('says when writes succeed again and when the condition will clear; failed-only losses stay WritesFailing', () => {
    const v = predictionLogVerdict([failing('churn-a', { lastError: undefined, lastWriteTime: '2026-03-14T15:39:40.000Z' })], CTX);
    expect(v).toMatchObject({ status: 'True', reason: 'WritesFailing' });
    expect(v.message).toContain('writes succeed again since 2026-03-14T15:39:40.000Z');
    expect(v.message).toMatch(/ Writes to s3:\/\/ml-logs\/predictions failed and succeed again; the condition clears 5 minutes after the last loss\.$/);
    expect(v.message).not.toContain('check that the bucket exists');
  });

  it('does not say writes succeed again while any losing pod still fails them', () => {
    const v = predictionLogVerdict([failing('churn-a', { lastError: undefined, lastWriteTime: '2026-03-14T15:39:40.000Z' }), failing('churn-b')], CTX);
    expect(v.message).not.toContain('the condition clears');
    expect(v.message).toContain('check that the bucket exists');
  });

  it('pods that do not answer are not losing, and the message says which did not answer', () => {
    const v = predictionLogVerdict([failing('churn-a'), silent('churn-c', 'no answer within 5 s')], CTX);
    expect(v).toMatchObject({ status: 'True', reason: 'WritesFailing' });
    expect(v.message).toContain('1 of 2 ready pods lost');
    expect(v.message).toMatch(/ 1 ready pod did not answer on the admin port and is not counted \(churn-c: no answer within 5 s\)\.$/);

    const quiet = predictionLogVerdict([fine('churn-a'), silent('churn-c'), silent('churn-d')], CTX);
    expect(quiet).toEqual({
      status: 'False',
      reason: 'NoLoss',
      message:
        'no prediction-log record lost in the last 5 minutes on 1 of 3 ready pods. 2 ready pods did not answer on the admin port and are not counted ' +
        '(churn-c: cannot connect (ECONNREFUSED), churn-d: cannot connect (ECONNREFUSED)).',
    });
  });

  it('False, NoLoss when no pod lost anything lately, whatever it lost before the window', () => {
    const v = predictionLogVerdict([fine('churn-a', { dropped: 7, failed: 3, lastLossTime: '2026-03-14T14:00:00.000Z' }), fine('churn-b')], CTX);
    expect(v).toEqual({ status: 'False', reason: 'NoLoss', message: 'no prediction-log record lost in the last 5 minutes on any of the 2 ready pods.' });
    expect(predictionLogVerdict([fine('churn-a')], CTX).message).toBe('no prediction-log record lost in the last 5 minutes on the ready pod.');
  });

  it('gives the same verdict while only the written count and write times move (a steady state writes no status)', () => {
    const a = predictionLogVerdict([fine('churn-a', { lastWriteTime: '2026-03-14T15:00:00.000Z' })], CTX);
    const b = predictionLogVerdict([fine('churn-a', { lastWriteTime: '2026-03-14T15:01:00.000Z' })], CTX);
    expect(b).toEqual(a);
    const losingA = predictionLogVerdict([failing('churn-a', { lastWriteTime: '2026-03-14T15:00:00.000Z' })], CTX);
    const losingB = predictionLogVerdict([failing('churn-a', { lastWriteTime: '2026-03-14T15:01:00.000Z' })], CTX);
    expect(losingB).toEqual(losingA);
  });

  it('is the same whatever order the pods come in', () => {
    const reports = [fine('churn-b'), failing('churn-c'), failing('churn-a'), silent('churn-d')];
    expect(predictionLogVerdict([...reports].reverse(), CTX)).toEqual(predictionLogVerdict(reports, CTX));
  });

  it('names at most five losing pods and counts the rest; a long error is clipped', () => {
    const many = Array.from({ length: 7 }, (_, i) => failing(`churn-${i}`, { lastError: 'x'.repeat(1000) }));
    const v = predictionLogVerdict(many, CTX);
    expect(v.message).toContain('7 of 7 ready pods lost');
    expect(v.message).toContain('pod churn-4 (');
    expect(v.message).not.toContain('pod churn-5 (');
    expect(v.message).toContain(' and 2 more.');
    expect(v.message).toContain(`last error: ${'x'.repeat(299)}…)`);
    expect(v.message.length).toBeLessThan(3000);
  });

  it('Unknown, NoReadyPods without ready pods', () => {
    expect(predictionLogVerdict([], CTX)).toEqual({ status: 'Unknown', reason: 'NoReadyPods', message: 'no ready serving pod to ask for its prediction log' });
  });

  it('Unknown, NotReported when no pod answered, pointing at NetworkPolicies', () => {
    const v = predictionLogVerdict([silent('churn-a'), silent('churn-b')], CTX);
    expect(v).toMatchObject({ status: 'Unknown', reason: 'NotReported' });
    expect(v.message).toMatch(/^no ready pod reported its prediction log\. The operator reads port 8081 of each ready pod: check that no NetworkPolicy keeps it out\. 2 ready pods did not answer/);
  });

  it('Unknown, NotReported while the ready pods still run without the log (a rollout to it not finished)', () => {
    const v = predictionLogVerdict([{ pod: 'churn-old', state: 'disabled' }], CTX);
    expect(v).toEqual({ status: 'Unknown', reason: 'NotReported', message: 'no ready pod reported its prediction log. 1 ready pod runs without the prediction log (a rollout not finished yet).' });
    // Pods without the log do not hide the ones that report.
    expect(predictionLogVerdict([{ pod: 'churn-old', state: 'disabled' }, failing('churn-new')], CTX).status).toBe('True');
  });
});

describe('withPredictionLogCondition', () => {
  const ready: Condition = { type: 'Ready', status: 'True', reason: 'Available', message: 'serving v1', lastTransitionTime: '2026-03-14T15:00:00Z', observedGeneration: 2 };

  it('adds the condition beside Ready, which it leaves alone', () => {
    const c = withPredictionLogCondition([ready], predictionLogVerdict([failing('churn-a')], CTX), 2, NOW);
    expect(getCondition(c, 'Ready')).toEqual(ready);
    expect(getCondition(c, PREDICTION_LOG_LOSING)).toMatchObject({ status: 'True', reason: 'WritesFailing', observedGeneration: 2, lastTransitionTime: '2026-03-14T15:40:00Z' });
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the losses end', () => {
    const first = withPredictionLogCondition([ready], predictionLogVerdict([failing('churn-a')], CTX), 2, NOW);
    const later = new Date(NOW.getTime() + 60_000);
    const more = withPredictionLogCondition(first, predictionLogVerdict([failing('churn-a', { failed: 240 })], CTX), 2, later);
    expect(getCondition(more, PREDICTION_LOG_LOSING)?.lastTransitionTime).toBe('2026-03-14T15:40:00Z');
    expect(getCondition(more, PREDICTION_LOG_LOSING)?.message).toContain('240 failed');
    const over = withPredictionLogCondition(more, predictionLogVerdict([fine('churn-a')], CTX), 2, later);
    expect(getCondition(over, PREDICTION_LOG_LOSING)).toMatchObject({ status: 'False', reason: 'NoLoss', lastTransitionTime: '2026-03-14T15:41:00Z' });
  });

  it('removes the condition when the Model no longer has a log', () => {
    const c = withPredictionLogCondition([ready], predictionLogVerdict([fine('churn-a')], CTX), 2, NOW);
    expect(withPredictionLogCondition(c, undefined, 3, NOW)).toEqual([ready]);
  });

  it('does not add NoReadyPods to a Model whose pods were never asked, but reports it once something was known', () => {
    const none = predictionLogVerdict([], CTX);
    expect(withPredictionLogCondition([ready], none, 2, NOW)).toEqual([ready]);
    const known = withPredictionLogCondition([ready], predictionLogVerdict([failing('churn-a')], CTX), 2, NOW);
    expect(getCondition(withPredictionLogCondition(known, none, 2, NOW), PREDICTION_LOG_LOSING)).toMatchObject({ status: 'Unknown', reason: 'NoReadyPods' });
  });
});
