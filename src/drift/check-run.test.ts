// A drift check that cannot read its data says which data set and why, and
// names the URI once: storage and table errors already lead with it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { dataSetError, loadDataSet } from './check-run.js';
import { loadReference } from './check-data.js';
import { sha256Hex } from '../storage/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fluxora-check-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const times = (text: string, part: string) => text.split(part).length - 1;
const features = [{ name: 'tenure', type: 'numeric' as const }];
const failure = (uri: string) => loadDataSet(uri, features).then(() => expect.fail('loaded'), (e: unknown) => e);

describe('dataSetError', () => {
  it.each([
    ['a missing file', () => pathToFileURL(join(dir, 'missing.csv')).href, 'does not exist'],
    ['a directory', () => pathToFileURL(dir).href + '/', 'directory'],
    [
      'a value that is not a number',
      () => {
        writeFileSync(join(dir, 'bad.csv'), 'tenure\n1\nabc\n');
        return pathToFileURL(join(dir, 'bad.csv')).href;
      },
      'is not a number',
    ],
    ['an invalid URI', () => 's3://ab/reference.csv', 'invalid storage URI'],
  ])('%s: the role, the cause, and the URI once', async (_case, uriOf, cause) => {
    const uri = uriOf();
    const e = dataSetError('ReferenceUnreadable', 'reference', uri, await failure(uri));
    expect(e.reason).toBe('ReferenceUnreadable');
    expect(e.message.startsWith('reference')).toBe(true);
    expect(e.message).toContain(cause);
    expect(times(e.message, uri), e.message).toBe(1);
  });

  it('adds the URI when the error does not name it', () => {
    const e = dataSetError('CurrentUnreadable', 'current', 's3://bucket/current.csv', new RangeError('Array buffer allocation failed'));
    expect(e.message).toBe('current s3://bucket/current.csv: Array buffer allocation failed');
  });
});

describe('loadReference with a recorded digest', () => {
  it("reads the version's data set when it matches, and refuses one replaced after training: ReferenceChanged", async () => {
    const text = 'tenure\n1\n2\n';
    writeFileSync(join(dir, 'train.csv'), text);
    const uri = pathToFileURL(join(dir, 'train.csv')).href;
    const columns = { features, outputs: [] };
    expect((await loadReference(uri, columns, { sha256: sha256Hex(text), version: 'v2' })).rows).toBe(2);
    writeFileSync(join(dir, 'train.csv'), 'tenure\n5\n6\n');
    const e = await loadReference(uri, columns, { sha256: sha256Hex(text), version: 'v2' }).then(() => expect.fail('loaded'), (x: unknown) => x as { reason: string; message: string });
    expect(e.reason).toBe('ReferenceChanged');
    expect(e.message).toContain(`reference ${uri} is no longer the data set version v2 was trained on`);
  });
});

