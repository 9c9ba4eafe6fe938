import { describe, expect, it } from 'vitest';
import { StorageError } from './errors.js';
import { joinUri, parseStorageUri } from './uri.js';

describe('parseStorageUri', () => {
  it('parses s3:// into bucket and a literal key', () => {
    expect(parseStorageUri('s3://models/churn/v1/model.onnx')).toEqual({ scheme: 's3', bucket: 'models', key: 'churn/v1/model.onnx' });
    expect(parseStorageUri('s3://my.bucket-1/a%20b?c')).toEqual({ scheme: 's3', bucket: 'my.bucket-1', key: 'a%20b?c' });
    expect(parseStorageUri('s3://models')).toEqual({ scheme: 's3', bucket: 'models', key: '' });
    expect(parseStorageUri('S3://models/x')).toMatchObject({ scheme: 's3' });
  });

  it('parses http:// and https:// as URLs', () => {
    const http = parseStorageUri('https://example.com:8443/models/m.onnx?sig=abc');
    expect(http.scheme).toBe('http');
    if (http.scheme !== 'http') throw new Error('unreachable');
    expect(http.url.href).toBe('https://example.com:8443/models/m.onnx?sig=abc');
    expect(parseStorageUri('http://127.0.0.1/x')).toMatchObject({ scheme: 'http' });
  });

  it('parses file:// into a decoded, normalized absolute path', () => {
    expect(parseStorageUri('file:///data/a%20b.csv')).toEqual({ scheme: 'file', path: '/data/a b.csv' });
    expect(parseStorageUri('file://localhost/data/x/../y.csv')).toEqual({ scheme: 'file', path: '/data/y.csv' });
    expect(parseStorageUri('file:///data/dir/')).toEqual({ scheme: 'file', path: '/data/dir/' });
  });

  it('parses pvc:// into a claim and a path confined to it', () => {
    expect(parseStorageUri('pvc://models/churn/v1.onnx')).toEqual({ scheme: 'pvc', claim: 'models', path: '/churn/v1.onnx' });
    expect(parseStorageUri('pvc://data.v2/a//b/./c.csv')).toEqual({ scheme: 'pvc', claim: 'data.v2', path: '/a/b/c.csv' });
    expect(parseStorageUri('pvc://models')).toEqual({ scheme: 'pvc', claim: 'models', path: '/' });
  });

  it.each([
    ['models/churn.onnx', /expected s3:\/\/bucket\/key/],
    ['', /expected/],
    ['ftp://host/x', /unsupported scheme "ftp:\/\/"/],
    ['s3://A_B/key', /not a valid bucket name/],
    ['s3://ab/key', /not a valid bucket name/],
    ['s3://a..b/key', /not a valid bucket name/],
    ['s3:///key', /not a valid bucket name/],
    ['http://', /not a valid URL/],
    ['https://user:pw@example.com/m.onnx', /credentials in the URL/],
    ['file://relative/path', /three slashes/],
    ['file:///data/a#b.csv', /%23/],
    ['file:///data/a%2Fb', /encoded \//],
    ['pvc://claim/../../etc/passwd', /"\.\." segments/],
    ['pvc://claim/a/../b', /"\.\." segments/],
    ['pvc://Bad_Claim/x', /not a valid PersistentVolumeClaim name/],
    ['pvc:///x', /not a valid PersistentVolumeClaim name/],
    ['s3://bucket/a\nb', /control characters/],
  ])('refuses %j with InvalidUri naming it', (uri, why) => {
    let err: unknown;
    try {
      parseStorageUri(uri);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe('InvalidUri');
    expect((err as StorageError).message).toContain(`"${uri}"`);
    expect((err as StorageError).message).toMatch(why);
  });
});

describe('joinUri', () => {
  it('joins with single slashes whatever the input slashes', () => {
    expect(joinUri('s3://b/models/', '/churn/', 'v2', 'model.onnx')).toBe('s3://b/models/churn/v2/model.onnx');
    expect(joinUri('s3://b', 'x')).toBe('s3://b/x');
    expect(joinUri('pvc://claim/out', 'run-1')).toBe('pvc://claim/out/run-1');
    expect(joinUri('https://h/p/', 'a')).toBe('https://h/p/a');
  });
  it('keeps file:///’s root slash and drops empty segments', () => {
    expect(joinUri('file:///', 'data', 'x.csv')).toBe('file:///data/x.csv');
    expect(joinUri('file:///tmp/out/', '', 'm.onnx')).toBe('file:///tmp/out/m.onnx');
    expect(joinUri('s3://b/prefix/')).toBe('s3://b/prefix');
  });
});
