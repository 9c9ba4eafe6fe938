// Every `fluxora` subcommand treats flags the same way (src/cli/usage.ts):
// `--help` prints its usage on stdout and exits 0; a bad flag or value prints
// one line naming it, then the usage, on stderr, and exits 2, never a stack
// trace, and never starts anything. The real CLI in a child process.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SUBCOMMANDS } from '../../src/cli/subcommands.js';
import { documentedExitStatuses } from '../support/cli-help.js';

const root = join(import.meta.dirname, '..', '..');

function fluxora(args: string[], env: Record<string, string> = {}) {
  const { FLUXORA_LOG_LEVEL: _, ...inherited } = process.env;
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    // No cluster to reach: a command that got past its flags would fail, not hang.
    env: { ...inherited, KUBECONFIG: join(root, 'no-such-kubeconfig'), ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A usage error: exactly one message line, a blank line, then the subcommand's usage; no stack trace. */
function expectUsageError(r: ReturnType<typeof fluxora>, command: string, message: string | RegExp) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  const [first, blank, usage] = r.stderr.split('\n');
  expect(first!.startsWith(`fluxora ${command}: `), r.stderr).toBe(true);
  if (typeof message === 'string') expect(first).toContain(message);
  else expect(first).toMatch(message);
  expect(blank).toBe('');
  expect(usage!.startsWith(`usage: fluxora ${command}`), r.stderr).toBe(true);
  expect(r.stderr).not.toMatch(STACK_FRAME);
}

/** A line of a JavaScript stack trace ("    at fn (file.js:1:2)"), not a help line that starts with "at most". */
const STACK_FRAME = /^\s+at .*:\d+:\d+\)?$/m;

const commands = Object.keys(SUBCOMMANDS);

describe('every subcommand', { timeout: 60_000 }, () => {
  it.each(commands)('fluxora %s --help: usage on stdout, exit 0', (command) => {
    const r = fluxora([...command.split(' '), '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.startsWith(`usage: fluxora ${command}`)).toBe(true);
  });

  it.each(commands)('fluxora %s --help documents its exit statuses, 2 for usage errors', (command) => {
    const codes = documentedExitStatuses(fluxora([...command.split(' '), '--help']).stdout);
    expect(codes.get(0)).toBeDefined();
    expect(codes.get(2)).toMatch(/usage|flags/);
  });

  it.each(commands)('fluxora %s --no-such-flag: one line, the usage, exit 2', (command) => {
    expectUsageError(fluxora([...command.split(' '), '--no-such-flag']), command, "Unknown option '--no-such-flag'");
  });

  it.each(commands)('fluxora %s with a stray positional argument: exit 2', (command) => {
    expectUsageError(fluxora([...command.split(' '), 'stray']), command, "Unexpected argument 'stray'");
  });
});

describe('bad flag values are usage errors, checked before anything starts', { timeout: 60_000 }, () => {
  const cases: [string, string[], Record<string, string>, string | RegExp][] = [
    ['operator', ['--workers', '0'], {}, '--workers must be an integer from 1 to 1000, got "0"'],
    ['operator', ['--workers=2.5'], {}, '--workers must be an integer from 1 to 1000, got "2.5"'],
    ['operator', ['--workers=four'], {}, '--workers must be an integer'],
    ['operator', ['--resync-period=-1'], {}, '--resync-period must be a number of at least 0'],
    ['operator', ['--prediction-log-check-period=0'], {}, '--prediction-log-check-period must be a number of at least 1, got "0"'],
    ['operator', [], { FLUXORA_SAMPLES_ADDRESS_MAP: '10.0.0.1:8081' }, 'FLUXORA_SAMPLES_ADDRESS_MAP: "10.0.0.1:8081" is not "from=to"'],
    ['operator', ['--retry-period=0'], {}, '--retry-period must be a number greater than 0'],
    ['operator', ['--leader-elect', '--lease-duration=10', '--renew-deadline=10'], {}, '--renew-deadline (10) must be less than --lease-duration (10)'],
    ['operator', ['--leader-elect', '--renew-deadline=2', '--retry-period=2'], {}, '--retry-period (2) must be less than --renew-deadline (2)'],
    ['operator', ['--log-level=loud'], {}, '--log-level: "loud" is not one of'],
    ['operator', [], { FLUXORA_LOG_LEVEL: 'loud' }, 'FLUXORA_LOG_LEVEL: "loud" is not one of'],
    ['operator', ['--metrics-bind-address=localhost'], {}, '--metrics-bind-address must be [host]:port or "0", got "localhost"'],
    ['operator', ['--health-probe-bind-address=:99999'], {}, '--health-probe-bind-address must be [host]:port'],
    ['operator', ['--workers'], {}, "Option '--workers <value>' argument missing"],
    ['operator', ['--kubeconfig=/nonexistent/kubeconfig'], {}, '--kubeconfig: cannot load "/nonexistent/kubeconfig" (ENOENT: no such file or directory)'],
    ['drift-check', ['--monitor=ns/m', '--kubeconfig=/nonexistent/kubeconfig'], {}, '--kubeconfig: cannot load "/nonexistent/kubeconfig"'],
    ['drift-check', [], {}, '--monitor is required'],
    ['drift-check', ['--monitor=no-slash'], {}, '--monitor must be <namespace>/<name>, got "no-slash"'],
    ['drift-check', ['--monitor=ns/m'], { FLUXORA_LOG_LEVEL: 'loud' }, 'FLUXORA_LOG_LEVEL: "loud" is not one of'],
    ['serve', ['--model-name=m', '--model-uri=file:///m.onnx', '--log-level=loud'], {}, '--log-level (or $FLUXORA_LOG_LEVEL): "loud" is not one of'],
    ['serve', ['--model-name=m', '--model-uri=file:///m.onnx', '--port=x'], {}, '--port must be an integer'],
    [
      'train',
      ['--dataset=file:///d.csv', '--output=file:///out/', '--config={"algorithm":"linear","target":"y"}'],
      { FLUXORA_LOG_LEVEL: 'loud' },
      'FLUXORA_LOG_LEVEL: "loud" is not one of',
    ],
    ['train', ['--dataset=file:///d.csv'], {}, '--output (or FLUXORA_OUTPUT_URI) is required'],
    ['drift compute', ['--current=c.csv'], {}, '--reference is required'],
  ];
  it.each(cases)('fluxora %s %j %j', (command, args, env, message) => {
    expectUsageError(fluxora([...command.split(' '), ...args], env), command, message);
  });
});

describe('a kubeconfig that cannot be loaded from the defaults', { timeout: 60_000 }, () => {
  it.each([['operator'], ['drift-check', '--monitor=ns/m']])('fluxora %s: one line naming where it looked, exit 1', (...args) => {
    // The helper points $KUBECONFIG at a file that does not exist.
    const r = fluxora(args);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe(
      `fluxora ${args[0]}: cannot load a kubeconfig from $KUBECONFIG, ~/.kube/config or the in-cluster service account (ENOENT: no such file or directory)\n`,
    );
  });
});

describe('fluxora itself', { timeout: 60_000 }, () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

  it.each([['--version'], ['version']])('fluxora %s prints the package version', (arg) => {
    const r = fluxora([arg]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('fluxora --help lists every subcommand and --version', () => {
    const r = fluxora(['--help']);
    expect(r.code).toBe(0);
    for (const name of commands) expect(r.stdout).toContain(`  ${name} `);
    expect(r.stdout).toContain('--version');
  });

  it('fluxora with no subcommand: the usage on stderr, exit 2', () => {
    const r = fluxora([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^usage: fluxora <subcommand>/);
  });

  it('fluxora help <subcommand> is fluxora <subcommand> --help', () => {
    const r = fluxora(['help', 'drift', 'compute']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fluxora(['drift', 'compute', '--help']).stdout);
  });

  // Groups: the first word of a multi-word subcommand ("drift" of "drift compute").
  const groups = [...new Set(commands.filter((c) => c.includes(' ')).map((c) => c.split(' ')[0]!))];

  it.each(groups)('fluxora %s --help lists the group\'s subcommands, exit 0', (group) => {
    const r = fluxora([group, '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.startsWith(`usage: fluxora ${group} <subcommand>`)).toBe(true);
    for (const c of commands.filter((n) => n.startsWith(`${group} `))) expect(r.stdout).toContain(`  ${c.slice(group.length + 1)} `);
  });

  it.each(groups)('fluxora %s alone or with an unknown subcommand: usage on stderr, exit 2', (group) => {
    const alone = fluxora([group]);
    expect(alone.code).toBe(2);
    expect(alone.stderr.startsWith(`usage: fluxora ${group} <subcommand>`)).toBe(true);
    const unknown = fluxora([group, 'bogus']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.split('\n')[0]).toBe(`fluxora ${group}: unknown subcommand "bogus"`);
  });
});
