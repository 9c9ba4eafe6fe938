// Reading what a `fluxora <subcommand> --help` documents, to hold it against
// what the command does.

/** The "Exit status:" section of a help text (src/cli/usage.ts exitStatusHelp): code -> meaning; empty when there is none. */
export function documentedExitStatuses(help: string): Map<number, string> {
  const section = /^Exit status:\n((?: {2}\d+ +.*\n)+)/m.exec(help);
  if (!section) return new Map();
  return new Map(
    section[1]!
      .trimEnd()
      .split('\n')
      .map((l): [number, string] => {
        const [, code, meaning] = /^ {2}(\d+) +(.*)$/.exec(l)!;
        return [Number(code), meaning!];
      }),
  );
}
