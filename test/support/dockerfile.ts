// A small Dockerfile reader, enough to compare what a Dockerfile declares
// with an image built another way: stages (FROM ... AS ...), and in each the
// instructions that shape an image config (ARG, ENV, LABEL, USER, WORKDIR,
// ENTRYPOINT, CMD) plus RUN/COPY text. Handles comments, line continuations,
// JSON-form arrays, quoted key=value pairs and ${VAR}/$VAR from ARG and ENV.
// Not a full implementation of the Dockerfile syntax (no heredocs, no
// `# escape=` directive, and '$VAR' in single quotes is expanded too): it
// refuses the constructs it cannot read.

export interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

/** ENTRYPOINT/CMD: exec form (JSON array) or shell form (run by /bin/sh -c). */
export type Command = { exec: string[] } | { shell: string };

export interface StageConfig {
  from: string;
  user?: string;
  workdir?: string;
  entrypoint?: Command;
  cmd?: Command;
  env: Record<string, string>;
  labels: Record<string, string>;
  /** ARG defaults in scope in this stage (before substitution of later ARGs). */
  args: Record<string, string>;
}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i] ?? '';
    if (/^\s*(#|$)/.test(first)) continue;
    const start = i + 1;
    let joined = '';
    let line = first;
    // A trailing backslash continues the instruction; comment and blank lines inside it are skipped, as Docker does.
    while (/\\\s*$/.test(line)) {
      joined += `${line.replace(/\\\s*$/, '')} `;
      do i++;
      while (i < lines.length && /^\s*(#|$)/.test(lines[i] ?? ''));
      if (i >= lines.length) throw new Error(`line ${start}: the instruction continues past the end of the file`);
      line = lines[i] ?? '';
    }
    joined += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*\S)\s*$/.exec(joined);
    if (!m?.[1] || m[2] === undefined) throw new Error(`line ${start}: cannot read ${JSON.stringify(joined)}`);
    if (m[2].startsWith('<<')) throw new Error(`line ${start}: heredocs are not supported`);
    out.push({ keyword: m[1].toUpperCase(), args: m[2], line: start });
  }
  return out;
}

/** Groups instructions into build stages; ARGs before the first FROM are global (usable in FROM only). */
export function stages(text: string): Stage[] {
  const out: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.keyword === 'FROM') {
      const m = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m?.[1]) throw new Error(`line ${ins.line}: cannot read FROM ${ins.args}`);
      out.push({ from: m[1], ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else {
      const stage = out.at(-1);
      if (stage) stage.instructions.push(ins);
      else if (ins.keyword !== 'ARG') throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
    }
  }
  if (out.length === 0) throw new Error('no FROM: not a Dockerfile');
  return out;
}

/** Splits `a=1 b="two words" c='x'` into pairs; `legacy` allows Docker's old "KEY value" form (one pair). */
export function keyValues(args: string, legacy: boolean): [string, string][] {
  const words = shellWords(args);
  if (legacy && words.length > 0 && !words[0]!.includes('=')) {
    const m = /^\s*(\S+)\s+([\s\S]*)$/.exec(args);
    if (!m?.[1] || m[2] === undefined) throw new Error(`cannot read ${args}`);
    return [[m[1], m[2]]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new Error(`"${w}" is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Words as a shell splits them: whitespace separates, quotes group, backslash escapes (not inside single quotes). */
function shellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} in ${s}`);
  if (inWord) words.push(cur);
  return words;
}

/** Replaces ${VAR} and $VAR with their values; unknown variables become empty, as in Docker. */
export function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a: string | undefined, b: string | undefined) => vars[a ?? b ?? ''] ?? '');
}

export function command(args: string): Command {
  if (!args.trimStart().startsWith('[')) return { shell: args };
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((x): x is string => typeof x === 'string')) throw new Error(`not a JSON array of strings: ${args}`);
  return { exec: parsed };
}

/** What a stage sets in the image config, with ARG defaults and earlier ENVs substituted. */
export function stageConfig(stage: Stage): StageConfig {
  const cfg: StageConfig = { from: stage.from, env: {}, labels: {}, args: {} };
  const vars = () => ({ ...cfg.args, ...cfg.env });
  for (const ins of stage.instructions) {
    switch (ins.keyword) {
      case 'ARG':
        for (const w of shellWords(ins.args)) {
          const eq = w.indexOf('=');
          if (eq === -1) cfg.args[w] = '';
          else cfg.args[w.slice(0, eq)] = expand(w.slice(eq + 1), vars());
        }
        break;
      case 'ENV':
        for (const [k, v] of keyValues(ins.args, true)) cfg.env[k] = expand(v, vars());
        break;
      case 'LABEL':
        for (const [k, v] of keyValues(ins.args, false)) cfg.labels[k] = expand(v, vars());
        break;
      case 'USER':
        cfg.user = expand(ins.args, vars());
        break;
      case 'WORKDIR':
        cfg.workdir = expand(ins.args, vars());
        break;
      case 'ENTRYPOINT':
        // (Docker also drops a CMD inherited from the base here; cmd only holds this stage's.)
        cfg.entrypoint = command(ins.args);
        break;
      case 'CMD':
        cfg.cmd = command(ins.args);
        break;
    }
  }
  return cfg;
}
