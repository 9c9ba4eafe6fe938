// When each client connection was opened, so a canary step can close the
// keep-alive connections that predate it (see PromotionConfig.rebalance).
import type { Socket } from 'node:net';

const openedAt = new WeakMap<Socket, number>();

export function markOpened(socket: Socket): void {
  openedAt.set(socket, performance.now());
}

/** The connection was opened before `time` (performance.now()); unknown sockets count as new. */
export function openedBefore(socket: Socket | null | undefined, time: number): boolean {
  if (!socket || time === -Infinity) return false;
  const t = openedAt.get(socket);
  return t !== undefined && t < time;
}
