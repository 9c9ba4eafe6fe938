// The operator as production runs it: compiled JavaScript (`node
// dist/cli/main.js operator`, as the image's entrypoint), not through tsx,
// whose on-the-fly compiler would inflate the memory the benchmark reports.
// Compiled into a gitignored cache directory inside the repository so Node
// resolves the dependencies from the repository's node_modules.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const root = join(import.meta.dirname, '..', '..');

/**
 * Compiles the CLI (operator, serve, ...) to `outDir` and returns its main.js.
 * A copy of package.json goes next to `outDir`, where it sits in the image
 * (/app/package.json beside /app/dist): the server reads its version there.
 */
export function compileCli(outDir = join(root, '.cache', 'bench-scale', 'dist')): string {
  rmSync(outDir, { recursive: true, force: true });
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'], {
    cwd: root,
    encoding: 'utf8',
  });
  const main = join(outDir, 'cli', 'main.js');
  // tsc emits even with type errors; only a missing entrypoint stops the benchmark.
  if (!existsSync(main)) throw new Error(`compiling the CLI produced no ${main}:\n${r.stdout}${r.stderr}`);
  copyFileSync(join(root, 'package.json'), join(outDir, '..', 'package.json'));
  return main;
}

export interface RunningOperator {
  child: ChildProcess;
  pid: number;
  metricsPort: number;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
}

/** Starts `node <main> operator ...`, logging to `logFile`; resolves once it reports "operator started". */
export async function startCompiledOperator(main: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Promise<RunningOperator> {
  const child = spawn(process.execPath, [main, 'operator', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stderr.pipe(log, { end: false });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const metricsPort = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('"operator started"')) return;
      const port = (JSON.parse(line) as { metricsPort?: number }).metricsPort;
      if (typeof port === 'number') resolve(port);
      else reject(new Error(`operator started without a metrics port: ${line}`));
    });
    void exited.then((code) => reject(new Error(`operator exited (${code}) before starting; see ${logFile}`)));
  });
  return {
    child,
    pid: child.pid!,
    metricsPort,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      log.end();
      return code;
    },
  };
}
