// The pods' admin reader against real local HTTP servers standing in for
// serving pods: answers, refusals, closed ports, pods that never answer, the
// concurrency bound and the address map. Finding the pods through
// EndpointSlices is covered here as pure logic (readyAdminEndpoints) and
// against the API server by the drift-check and prediction-log integration tests.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAddressMap, PodAdminReader, readyAdminEndpoints, type AdminEndpoint, type EndpointSlice } from './pod-admin.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function pod(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handle);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  s.unref();
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A port nothing listens on: listened on once, then closed. */
async function closedPort(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return `127.0.0.1:${port}`;
}

const json = (res: Response) => res.json();
const at = (pod: string, address: string): AdminEndpoint => ({ pod, address });

describe('readyAdminEndpoints', () => {
  const slice = (endpoints: NonNullable<EndpointSlice['endpoints']>, port: number | null = 8081): EndpointSlice => ({
    ports: [{ name: 'http', port: 8080 }, ...(port ? [{ name: 'admin', port }] : [])],
    endpoints,
  });

  it('lists each ready pod once, by name, at its admin port, sorted', () => {
    const eps = readyAdminEndpoints([
      slice([
        { addresses: ['10.0.0.2'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'churn-b' } },
        { addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'churn-a' } }, // no conditions: ready
        { addresses: ['10.0.0.3'], conditions: { ready: false }, targetRef: { kind: 'Pod', name: 'churn-c' } },
      ]),
      // The same endpoint in a second slice (slices being rebalanced): once.
      slice([{ addresses: ['10.0.0.2'], conditions: { ready: true }, targetRef: { kind: 'Pod', name: 'churn-b' } }]),
      // A slice without the admin port leads nowhere.
      slice([{ addresses: ['10.0.0.9'], targetRef: { kind: 'Pod', name: 'churn-z' } }], null),
    ]);
    expect(eps).toEqual([at('churn-a', '10.0.0.1:8081'), at('churn-b', '10.0.0.2:8081')]);
  });

  it('names an endpoint without a pod reference by its address, brackets IPv6, and applies the address map', () => {
    const eps = readyAdminEndpoints([slice([{ addresses: ['10.0.0.1'] }, { addresses: ['fd00::1'] }])], new Map([['10.0.0.1:8081', '127.0.0.1:18081']]));
    expect(eps).toEqual([at('10.0.0.1:8081', '127.0.0.1:18081'), at('[fd00::1]:8081', '[fd00::1]:8081')]);
    // Sorted by code point, the same on every machine whatever its locale.
    expect(readyAdminEndpoints([slice([{ addresses: ['10.0.0.1'], targetRef: { kind: 'Pod', name: 'b' } }, { addresses: ['10.0.0.2'], targetRef: { kind: 'Pod', name: 'B' } }])]).map((e) => e.pod)).toEqual(['B', 'b']);
  });
});

describe('parseAddressMap', () => {
  it('reads "from=to" pairs, spaces and empty parts ignored', () => {
    expect(parseAddressMap(' 10.0.0.1:8081=127.0.0.1:1 ,,10.0.0.2:8081=127.0.0.1:2')).toEqual(
      new Map([
        ['10.0.0.1:8081', '127.0.0.1:1'],
        ['10.0.0.2:8081', '127.0.0.1:2'],
      ]),
    );
    expect(parseAddressMap(undefined).size).toBe(0);
  });
  it('refuses a pair without "="', () => {
    expect(() => parseAddressMap('10.0.0.1:8081')).toThrow('FLUXORA_SAMPLES_ADDRESS_MAP: "10.0.0.1:8081" is not "from=to"');
  });
});

describe('PodAdminReader.getEach', () => {
  it("gives each pod's answer or the reason there is none, in the endpoints' order; one pod never fails the others", async () => {
    const good = await pod((req, res) => res.end(JSON.stringify({ path: req.url, auth: req.headers.authorization ?? null })));
    const refusing = await pod((_req, res) => {
      res.statusCode = 503;
      res.end('model "churn" is not ready: loading');
    });
    const garbled = await pod((_req, res) => res.end('{not json'));
    const hanging = await pod(() => undefined);
    const closed = await closedPort();
    const reader = new PodAdminReader({ timeoutMs: 300 });
    const answers = await reader.getEach(
      [at('good', good), at('refusing', refusing), at('garbled', garbled), at('hanging', hanging), at('closed', closed)],
      '/v2/models/churn/prediction-log',
      json,
      { token: 't0k' },
    );
    expect(answers.map((a) => (a.ok ? { pod: a.endpoint.pod, value: a.value } : { pod: a.endpoint.pod, error: a.error }))).toEqual([
      { pod: 'good', value: { path: '/v2/models/churn/prediction-log', auth: 'Bearer t0k' } },
      { pod: 'refusing', error: 'HTTP 503: model "churn" is not ready: loading' },
      { pod: 'garbled', error: expect.stringMatching(/JSON/) as unknown },
      { pod: 'hanging', error: 'no answer within 0.3 s' },
      { pod: 'closed', error: 'cannot connect (ECONNREFUSED)' },
    ]);
  });

  it('sends no Authorization header without a token', async () => {
    const good = await pod((req, res) => res.end(JSON.stringify(req.headers.authorization ?? null)));
    const [a] = await new PodAdminReader().getEach([at('p', good)], '/', json);
    expect(a).toMatchObject({ ok: true, value: null });
  });

  it('keeps at most `concurrency` requests in flight across calls, and starts the clock when a request is sent', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = await pod((_req, res) => {
      most = Math.max(most, ++inFlight);
      setTimeout(() => {
        inFlight--;
        res.end('{}');
      }, 150);
    });
    // Six pods at 150 ms each, two at a time: 450 ms in all, beyond the 300 ms limit of one request.
    const reader = new PodAdminReader({ concurrency: 2, timeoutMs: 300 });
    const eps = Array.from({ length: 3 }, (_, i) => at(`p${i}`, slow));
    const [first, second] = await Promise.all([reader.getEach(eps, '/', json), reader.getEach(eps, '/', json)]);
    expect(most).toBe(2);
    expect([...first, ...second].every((a) => a.ok)).toBe(true);
  });

  it('a per-call time limit overrides the reader', async () => {
    const slow = await pod((_req, res) => setTimeout(() => res.end('{}'), 200));
    const reader = new PodAdminReader({ timeoutMs: 50 });
    expect((await reader.getEach([at('p', slow)], '/', json, { timeoutMs: 1000 }))[0]?.ok).toBe(true);
    expect((await reader.getEach([at('p', slow)], '/', json))[0]).toMatchObject({ ok: false, error: 'no answer within 0.05 s' });
  });
});
