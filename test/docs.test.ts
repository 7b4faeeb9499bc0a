// Docs that cannot drift: docs/cli.md names every flag `naught help` lists for every
// command and no other, and no page names a file, npm script or example that is not there.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { naughtBin, repoRoot } from './helpers/paths.js';

const PAGES = ['README.md', 'RELIABILITY.md', 'BENCHMARKS.md', 'CONTRIBUTING.md', ...fs.readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const read = (page: string) => fs.readFileSync(path.join(repoRoot, page), 'utf8');

/** Every command's help, as `naught help <command>` prints it; `naught help` lists the commands. */
function helpTexts(): Map<string, string> {
  const commands = [...new Set([...helpOf([]).matchAll(/^naught ([a-z-]+)/gm)].map((m) => m[1]!))];
  return new Map(commands.map((command) => [command, helpOf([command])]));
}

/** stdout and stderr of `naught help …` together: a command's help is on stdout, the usage on stderr. */
function helpOf(args: string[]): string {
  const run = spawnSync(process.execPath, [naughtBin, 'help', ...args], { encoding: 'utf8' });
  return run.stdout + run.stderr;
}

/** `--flag` names in a text: options start a word, and are followed by no letter of a longer name. */
const flagsIn = (text: string): Set<string> => new Set([...text.matchAll(/(?<![\w-])--([a-z][a-z0-9-]*[a-z0-9])(?![\w-])/g)].map((m) => `--${m[1]}`));

/** The section of docs/cli.md for one command: from its `### naught <command>` to the next heading of that level. */
function cliSection(cli: string, command: string): string | null {
  const start = cli.indexOf(`\n### naught ${command}`);
  if (start === -1) return null;
  const end = cli.indexOf('\n### ', start + 1);
  return cli.slice(start, end === -1 ? cli.indexOf('\n## ', start + 1) === -1 ? cli.length : cli.indexOf('\n## ', start + 1) : end);
}

export function cliDrift(cli: string, helps: Map<string, string>): string[] {
  const found: string[] = [];
  for (const [command, help] of helps) {
    const section = cliSection(cli, command);
    if (section === null) {
      found.push(`docs/cli.md has no section "### naught ${command}"`);
      continue;
    }
    const documented = flagsIn(section);
    const real = flagsIn(help);
    for (const flag of real) if (!documented.has(flag)) found.push(`naught ${command} ${flag} is missing from docs/cli.md`);
    for (const flag of documented) if (!real.has(flag)) found.push(`docs/cli.md names naught ${command} ${flag}, which naught help ${command} does not list`);
  }
  return found;
}

/** Paths of this repository a page names (in backticks or links), and the npm scripts it runs. */
export function missingReferences(page: string, text: string, exists: (p: string) => boolean, scripts: Set<string>): string[] {
  const found: string[] = [];
  const base = path.dirname(page);
  for (const [, target] of text.matchAll(/\]\(((?!https?:|#|mailto:)[^)#\s]+)(?:#[^)]*)?\)/g)) {
    if (!exists(path.normalize(path.join(base, target!)))) found.push(`${page} links to ${target}, which does not exist`);
  }
  for (const [, ref] of text.matchAll(/`((?:src|test|bench|examples|scripts|docs)\/[\w./-]*[\w/])`/g)) {
    if (!ref!.includes('*') && !ref!.includes('<') && !exists(ref!.replace(/\/$/, ''))) found.push(`${page} names ${ref}, which does not exist`);
  }
  for (const [, script] of text.matchAll(/npm run ([\w:-]+)/g)) {
    if (!scripts.has(script!)) found.push(`${page} runs npm run ${script}, which package.json does not have`);
  }
  return found;
}

const scripts = new Set(Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts));
const inRepo = (p: string) => fs.existsSync(path.join(repoRoot, p));

t.test('docs/cli.md names every flag of every command, and no flag that does not exist', async (t) => {
  const helps = helpTexts();
  t.ok(helps.size >= 14, `naught help lists its commands (${[...helps.keys()].join(', ')})`);
  t.same(cliDrift(read('docs/cli.md'), helps), []);
});

t.test('no page names a file, npm script or example that does not exist; every page is linked from the README', async (t) => {
  t.same(PAGES.flatMap((page) => missingReferences(page, read(page), inRepo, scripts)), []);
  const readme = read('README.md');
  for (const page of PAGES.filter((p) => p.startsWith('docs/'))) t.match(readme, `](${page})`, `the README links ${page}`);
});

t.test('the checks see a flag docs/cli.md lacks, one it invents, a missing file and a missing script', async (t) => {
  const helps = new Map([['stop', 'naught stop [options] [ipc-file]\n\n    --timeout none\n    --pid-file naught.pid\n']]);
  t.same(cliDrift('\n### naught stop\n\n`--timeout none` and `--frobnicate`\n', helps), [
    'naught stop --pid-file is missing from docs/cli.md',
    'docs/cli.md names naught stop --frobnicate, which naught help stop does not list',
  ]);
  t.same(missingReferences('docs/x.md', 'see `src/nowhere.ts`, [this](../README.md), [that](gone.md) and `npm run nope`', inRepo, scripts), [
    'docs/x.md links to gone.md, which does not exist',
    'docs/x.md names src/nowhere.ts, which does not exist',
    'docs/x.md runs npm run nope, which package.json does not have',
  ]);
});
