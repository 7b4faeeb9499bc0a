// The house's shape, read from the imports: bin → cli → actors → logs/pool/cluster →
// supervision → bus/files, and no import runs up. Actors share only the catalogue: one imports another
// only where it wires them (the daemon its actors, the master its worker proxies).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers/paths.js';

/** Higher imports lower or level, never up. Files at src/'s top are the public entry points and shared leaves. */
const FLOORS: Record<string, number> = {
  'bin': 6,
  'cli': 5, 'plugins': 5, 'plugin.ts': 5, 'worker.ts': 5, 'worker-preload.cts': 5,
  'actors': 4,
  'cluster': 3, 'logs': 3, 'pool': 3, 'drain.cts': 3,
  'bus': 1, 'files': 1, 'supervision': 2, 'version.ts': 1,
};
const WIRING = ['actors/daemon.ts', 'actors/master.ts'];

const src = path.join(repoRoot, 'src');

/** Every import of a module of ours in `file`, resolved to the .ts/.cts it names. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'";]*?from\s+'(\.[^']+)'|require\('(\.[^']+)'\)|import\s*\(\s*'(\.[^']+)'\s*\)|import \w+ = require\('(\.[^']+)'\)/g)]
    .map((match) => match[1] ?? match[2] ?? match[3] ?? match[4]!);
  return specifiers.map((specifier) => path.resolve(path.dirname(file), specifier).replace(/\.js$/, '.ts').replace(/\.cjs$/, '.cts'));
}

function houseViolations(root = src): string[] {
  const files = (fs.readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[])
    .filter((name) => /\.c?ts$/.test(name) && !name.endsWith('.d.ts')).map((name) => path.join(root, name));
  const inHouse = (file: string) => path.relative(root, file);
  const room = (file: string): string => inHouse(file).split(path.sep)[0]!;
  const found: string[] = [];
  for (const file of files) {
    const from = room(file);
    for (const target of importsOf(file)) {
      const to = room(target);
      const name = `${inHouse(file)} imports ${inHouse(target)}`;
      if (FLOORS[from] === undefined || FLOORS[to] === undefined) found.push(`${name}: a room the house does not know (add it to FLOORS)`);
      else if (FLOORS[to]! > FLOORS[from]!) found.push(`${name}: ${to} is above ${from}`);
      else if (from === 'actors' && to === 'actors' && !WIRING.includes(inHouse(file))) found.push(`${name}: actors share only the catalogue`);
    }
  }
  return found;
}

t.test('no import runs up the house, and actors share only the catalogue', async (t) => {
  t.same(houseViolations(), []);
});

t.test('the check sees an import that runs up, and one between actors', async (t) => {
  const copy = fs.mkdtempSync(path.join(repoRoot, 'dist/house-'));
  t.teardown(() => fs.rmSync(copy, { recursive: true, force: true }));
  fs.mkdirSync(path.join(copy, 'pool'));
  fs.mkdirSync(path.join(copy, 'actors'));
  fs.mkdirSync(path.join(copy, 'cli'));
  fs.writeFileSync(path.join(copy, 'cli/format.ts'), 'export const x = 1;\n');
  fs.writeFileSync(path.join(copy, 'actors/health.ts'), "import type { LogFeed } from './log-feed.js';\nexport const y = 1;\n");
  fs.writeFileSync(path.join(copy, 'actors/log-feed.ts'), 'export interface LogFeed {}\n');
  fs.writeFileSync(path.join(copy, 'pool/pool.ts'), "import { x } from '../cli/format.js';\nexport const z = x;\n");
  const found = houseViolations(copy);
  t.equal(found.length, 2, found.join('\n'));
  t.match(found.join('\n'), /imports .*cli\/format\.ts: cli is above pool/);
  t.match(found.join('\n'), /imports .*actors\/log-feed\.ts: actors share only the catalogue/);
});

t.test('every actor has a unit test of its own', async (t) => {
  const actors = fs.readdirSync(path.join(src, 'actors')).filter((name) => name.endsWith('.ts')).map((name) => name.replace(/\.ts$/, ''));
  const untested = actors.filter((name) => !fs.existsSync(path.join(repoRoot, 'test/actors', `${name}.test.ts`)));
  t.same(untested, [], 'test/actors/<actor>.test.ts');
});
