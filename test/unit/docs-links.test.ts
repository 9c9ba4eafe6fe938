// The README and docs/ link to each other and into the repository; alerts
// link to their runbooks. Every relative link must name a file that exists,
// every #anchor a heading of that page (by GitHub's rules), and every alert's
// runbook_url a section of docs/metrics-and-alerts.md.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { anchorsOf, documentationPages, githubSlug, linksOf } from '../support/markdown.js';

const root = resolve(import.meta.dirname, '..', '..');
const RUNBOOKS = 'docs/metrics-and-alerts.md';
const RUNBOOK_BASE = `https://github.com/fluxora/fluxora/blob/main/${RUNBOOKS}#`;
const RULES = 'charts/fluxora-operator/rules/fluxora-rules.yaml';

const pages = documentationPages(root);

const anchorCache = new Map<string, Set<string>>();
function anchorsOfFile(path: string): Set<string> {
  let a = anchorCache.get(path);
  if (!a) anchorCache.set(path, (a = anchorsOf(readFileSync(path, 'utf8'))));
  return a;
}

/** Problems with the relative links of one page: a missing file, or an anchor no heading has. */
function brokenLinks(page: string, text: string, repoRoot = root): string[] {
  const problems: string[] = [];
  for (const { line, target } of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not checked here
    const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
    const where = `${page}:${line}: ${target}`;
    if (pathPart === '') {
      if (!anchorsOf(text).has(decodeURIComponent(anchor ?? ''))) problems.push(`${where}: ${page} has no heading #${anchor}`);
      continue;
    }
    const file = resolve(dirname(join(repoRoot, page)), decodeURIComponent(pathPart));
    if (!file.startsWith(repoRoot)) problems.push(`${where}: points outside the repository`);
    else if (!existsSync(file)) problems.push(`${where}: ${relative(repoRoot, file)} does not exist`);
    else if (anchor !== undefined) {
      if (!file.endsWith('.md')) problems.push(`${where}: an anchor into a file that is not Markdown`);
      else if (!anchorsOfFile(file).has(decodeURIComponent(anchor))) problems.push(`${where}: ${relative(repoRoot, file)} has no heading #${anchor}`);
    }
  }
  return problems;
}

describe('documentation links', () => {
  it('covers the README and every page under docs/', () => {
    expect(pages).toContain('README.md');
    expect(pages).toContain(RUNBOOKS);
    expect(pages.length).toBeGreaterThan(10);
  });

  it.each(pages)('%s: every relative link and #anchor resolves', (page) => {
    expect(brokenLinks(page, readFileSync(join(root, page), 'utf8'))).toEqual([]);
  });

  it('the README links every page under docs/', () => {
    const linked = new Set(linksOf(readFileSync(join(root, 'README.md'), 'utf8')).map((l) => l.target.split('#')[0]));
    for (const page of pages.filter((p) => p.startsWith('docs/'))) expect(linked, page).toContain(page);
  });

  it('finds what is broken (negative controls)', () => {
    const page = 'docs/example.md';
    const text = [
      '# Title',
      'See [concepts](concepts.md), [a heading](#title), [gone](nope.md), [bad anchor](install.md#no-such-heading),',
      '[self](#missing), ![img](dashboard.png), [web](https://example.com/x.md#y) and `[code](not-a-link.md)`.',
      '```',
      '[fenced](not-a-link-either.md)',
      '```',
    ].join('\n');
    expect(brokenLinks(page, text)).toEqual([
      'docs/example.md:2: nope.md: docs/nope.md does not exist',
      'docs/example.md:2: install.md#no-such-heading: docs/install.md has no heading #no-such-heading',
      'docs/example.md:3: #missing: docs/example.md has no heading #missing',
    ]);
  });
});

describe('GitHub heading anchors', () => {
  it('follow GitHub: lower case, punctuation and markup dropped, spaces to dashes, duplicates numbered', () => {
    expect(githubSlug('Operator: domain metrics')).toBe('operator-domain-metrics');
    expect(githubSlug('`pvc://` claims')).toBe('pvc-claims');
    expect(githubSlug('Serving (`fluxora serve`)')).toBe('serving-fluxora-serve');
    expect(githubSlug('Versions, promotion and rollback')).toBe('versions-promotion-and-rollback');
    expect(githubSlug('snake_case [link](x.md)')).toBe('snake_case-link');
    expect([...anchorsOf('# A\n## A\n```\n# B\n```\n### A\n<a id="explicit"></a>')]).toEqual(['a', 'a-1', 'a-2', 'explicit']);
  });
});

describe('alert runbooks', () => {
  type Rule = { alert?: string; annotations?: Record<string, string> };
  const alerts = (parse(readFileSync(join(root, RULES), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules).filter((r) => r.alert);

  it('every alert has a runbook_url at its own section of docs/metrics-and-alerts.md', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(11);
    const anchors = anchorsOfFile(join(root, RUNBOOKS));
    for (const a of alerts) {
      const url = a.annotations?.runbook_url ?? '';
      expect(url, a.alert).toBe(`${RUNBOOK_BASE}${githubSlug(a.alert!)}`);
      expect(anchors, `${a.alert}: ${RUNBOOKS} has no heading for ${url}`).toContain(url.slice(RUNBOOK_BASE.length));
    }
  });

  it("promtool's unit tests expect the same runbook URLs", () => {
    const tests = readFileSync(join(root, 'charts/fluxora-operator/rules/fluxora-rules.test.yaml'), 'utf8');
    const expected = new Set(alerts.map((a) => a.annotations!.runbook_url!));
    const used = [...tests.matchAll(/runbook_url: (\S+)/g)].map((m) => m[1]!);
    expect(used.length).toBeGreaterThan(0);
    for (const u of used) expect(expected, u).toContain(u);
  });
});
