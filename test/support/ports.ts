// Loopback ports for servers a test or benchmark starts and must tell others
// about before they listen (Prometheus, peers' servers), or for a port that
// nothing listens on.
import { createServer } from 'node:net';

/** A loopback port that was free a moment ago and that nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port was assigned');
  return address.port;
}
