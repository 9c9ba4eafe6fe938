import { configDefaults, defineConfig } from 'vitest/config';

// Projects: "unit" is pure logic and needs nothing; "integration" runs
// against the real local control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kwok) that test/support/global-setup.ts
// starts through hack/control-plane.sh, or reuses when FLUXORA_KUBECONFIG is set;
// "image" builds the container images (hack/image/) and needs no cluster.
const IMAGE_TESTS = 'test/integration/image*.test.ts';
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['src/**/*.test.ts', 'test/unit/**/*.test.ts'],
          environment: 'node',
          // One project at a time (unit, image, integration): on 2 cores, two
          // image builds beside a real-pod test would skew its figures.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          exclude: [...configDefaults.exclude, IMAGE_TESTS],
          environment: 'node',
          sequence: { groupOrder: 2 },
          globalSetup: ['test/support/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          // Each file runs its own operator against the shared API server, in
          // its own namespace; one file at a time keeps a 2-core machine calm.
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'image',
          include: [IMAGE_TESTS],
          environment: 'node',
          sequence: { groupOrder: 1 },
          // Two full image builds (apt, npm ci, ~300 MB of gzip) on 2 cores.
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      // Fault injection (kill -9 of operators, kube-apiserver and etcd
      // restarts) on its own control-plane instance. Defined only under
      // `npm run test:faults`, which selects that instance: a plain
      // `vitest run` (npm test) must never kill the shared control plane.
      ...(process.env.FLUXORA_FAULTS === '1'
        ? [
            {
              test: {
                name: 'faults',
                include: ['test/faults/**/*.test.ts'],
                sequence: { groupOrder: 3 },
                environment: 'node',
                globalSetup: ['test/support/faults-global-setup.ts', 'test/support/global-setup.ts'],
                testTimeout: 300_000,
                hookTimeout: 300_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
});
