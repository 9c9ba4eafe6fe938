// The Dockerfile reader the image test compares the Dockerfile with.
import { describe, expect, it } from 'vitest';
import { instructions, keyValues, stageConfig, stages } from '../support/dockerfile.js';

const DOCKERFILE = `# syntax=docker/dockerfile:1.7
ARG BASE=debian
FROM node:24 AS build
RUN npm ci \\
  # a comment inside a continuation
  && npm run build

FROM gcr.io/distroless/base:nonroot
ARG VERSION=1.2.3
LABEL a="one two" \\
      b=\${VERSION} c='x y'
ENV PATH=/x/bin:/usr/bin \\
    MODE="prod"
ENV LEGACY some value
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["/x/bin/node", "/app/main.js"]
CMD operator --flag
`;

describe('Dockerfile reader', () => {
  it('joins continuations, skips comments inside them, and numbers instructions by their first line', () => {
    const ins = instructions(DOCKERFILE);
    expect(ins.map((i) => [i.keyword, i.line])).toEqual([
      ['ARG', 2],
      ['FROM', 3],
      ['RUN', 4],
      ['FROM', 8],
      ['ARG', 9],
      ['LABEL', 10],
      ['ENV', 12],
      ['ENV', 14],
      ['USER', 15],
      ['WORKDIR', 16],
      ['ENTRYPOINT', 17],
      ['CMD', 18],
    ]);
    expect(ins[2]?.args).toBe('npm ci    && npm run build');
  });

  it('splits stages and reads the final one with ARG defaults substituted', () => {
    const all = stages(DOCKERFILE);
    expect(all.map((s) => [s.from, s.name])).toEqual([
      ['node:24', 'build'],
      ['gcr.io/distroless/base:nonroot', undefined],
    ]);
    expect(stageConfig(all[1]!)).toEqual({
      from: 'gcr.io/distroless/base:nonroot',
      args: { VERSION: '1.2.3' },
      labels: { a: 'one two', b: '1.2.3', c: 'x y' },
      env: { PATH: '/x/bin:/usr/bin', MODE: 'prod', LEGACY: 'some value' },
      user: '65532:65532',
      workdir: '/app',
      entrypoint: { exec: ['/x/bin/node', '/app/main.js'] },
      cmd: { shell: 'operator --flag' },
    });
  });

  it('refuses what it cannot read', () => {
    expect(() => stages('RUN true\n')).toThrow(/before the first FROM/);
    expect(() => stages('# only a comment\n')).toThrow(/no FROM/);
    expect(() => instructions('FROM a\nRUN x \\\n')).toThrow(/continues past the end/);
    expect(() => keyValues('a="unterminated', false)).toThrow(/unterminated/);
    expect(() => keyValues('novalue', false)).toThrow(/KEY=VALUE/);
    expect(() => stageConfig(stages('FROM a\nCMD ["x", 1]\n')[0]!)).toThrow(/JSON array of strings/);
  });
});
