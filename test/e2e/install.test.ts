// naught as users install it, on the Node line that runs the suite: the packed tarball and
// a git URL, each into a fresh app outside the repository with no dev dependencies, then
// `npx naught` start, deploy and stop on servers that use naught/worker as an ES module, as
// CommonJS (require(esm)), and a TypeScript consumer that must compile under nodenext.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/paths.js';
import { freePort, Sandbox, waitFor } from '../helpers/naught.js';

const run = promisify(execFile);
const MiB = 1024 * 1024;

const SERVER_MJS = `import http from 'node:http';
import { online, onShutdown } from 'naught/worker';
const server = http.createServer((req, res) => res.end('esm ' + process.env.NAUGHT_WORKER + ' ' + process.version + '\\n'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => online(server));
onShutdown(server);
`;
const SERVER_CJS = `const http = require('node:http');
const { online, onShutdown } = require('naught/worker');
const server = http.createServer((req, res) => res.end('cjs ' + process.env.NAUGHT_WORKER + ' ' + process.version + '\\n'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => online(server));
onShutdown(server);
`;
const SERVER_TS = `import http from 'node:http';
import { online, onShutdown } from 'naught/worker';
const server = http.createServer((req, res) => res.end('ts\\n'));
server.listen(Number(process.env.PORT), '127.0.0.1', () => online(server));
onShutdown(server, { recentMs: 500 });
`;
const PLUGIN_TS = `import { definePlugin } from 'naught/plugin';
export default definePlugin<'cmd.deploy', { every: number }>({
  name: 'typed',
  publishes: ['cmd.deploy'],
  create({ bus, options, log }) {
    bus.on('pool.event', ({ event, count }) => { if (event === 'Ready') log(\`ready with \${count.online} of \${options.every}\`); });
    return { stop: () => { bus.publish({ type: 'cmd.deploy', workerCount: 0, env: null, cwd: null, timeoutMs: null }); } };
  },
});
`;

/** npm with the line's node first on PATH (npm's own `#!/usr/bin/env node` picks it). */
function npm(cwd: string, args: string[]) {
  return run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline'], { cwd, maxBuffer: 16 * MiB, env: { ...process.env, npm_config_update_notifier: 'false' } });
}

/** An app with package.json (and `files`) that depends on naught as `spec`, installed without dev dependencies. */
async function app(box: Sandbox, name: string, spec: string, files: Record<string, string>): Promise<string> {
  const dir = box.path(name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, dependencies: { naught: spec } }, null, 2));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  await npm(dir, ['install', '--omit=dev']);
  return dir;
}

/** `npx naught` start (2 workers), one request, deploy, stop, in `dir`: what the server answered. */
async function lifecycle(t: Test, box: Sandbox, dir: string, server: string): Promise<string> {
  const port = await freePort();
  const npx = (args: string[]) => run('npx', ['--no-install', 'naught', ...args], { cwd: dir, env: { ...process.env, PORT: String(port) } });
  const start = await npx(['start', '--worker-count', '2', server]);
  // The sandbox kills the daemon and everything under it should the test fail before its stop.
  box.track(Number(fs.readFileSync(path.join(dir, 'naught.pid'), 'utf8')));
  t.equal(start.stdout, 'workers online: 2\n', `${server}: started`);
  const answer = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  const deploy = await npx(['deploy']);
  t.match(deploy.stderr, /done\n$/, `${server}: deployed`);
  await waitFor('the new workers answer', async () => (await fetch(`http://127.0.0.1:${port}/`)).ok);
  const stop = await npx(['stop']);
  t.equal(stop.stderr.split('\n').at(-2), 'OldExit. booting: 0, online: 0, dying: 0, new_online: 0', `${server}: stopped`);
  t.notOk(fs.existsSync(path.join(dir, 'naught.ipc')), `${server}: the daemon is gone`);
  return answer;
}

/** The TypeScript consumer: `tsc --noEmit` under nodenext against the installed naught's types. */
async function typecheck(t: Test, dir: string): Promise<void> {
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false,
      types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules/@types')],
    },
    files: ['server.ts', 'plugin.ts'],
  }));
  const tsc = path.join(repoRoot, 'node_modules/typescript/bin/tsc');
  const checked = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir }).catch((error: { stdout: string }) => error);
  t.equal(checked.stdout, '', 'tsc --noEmit: no error');
}

const VERSION = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

t.test(`npm pack, then npm install --omit=dev in a fresh app: ES module, CommonJS and TypeScript consumers on Node ${process.version}`, async (t) => {
  const box = new Sandbox(t);
  // dist/ is built already (npm test builds first): packing without scripts leaves it alone for the tests beside this one.
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', box.dir], { cwd: repoRoot, maxBuffer: 16 * MiB });
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  t.equal(filename, `naught-${VERSION}.tgz`);
  t.ok(files.every((file) => file.path === 'package.json' || file.path.startsWith('dist/src/') || /^(README|LICENSE)/.test(file.path)), 'the tarball holds dist/src, package.json and the README only');
  const dir = await app(box, 'app', `file:${box.path(filename)}`, { 'server.mjs': SERVER_MJS, 'server.cjs': SERVER_CJS, 'server.ts': SERVER_TS, 'plugin.ts': PLUGIN_TS });
  t.notOk(fs.existsSync(path.join(dir, 'node_modules/typescript')), 'no dev dependency came with it');
  t.match(await lifecycle(t, box, dir, 'server.mjs'), new RegExp(`^esm [01] ${process.version}\\n$`));
  t.match(await lifecycle(t, box, dir, 'server.cjs'), new RegExp(`^cjs [01] ${process.version}\\n$`), "require('naught/worker') works");
  await typecheck(t, dir);
});

t.test(`npm install git+file:// runs prepare, and the result works the same, on Node ${process.version}`, async (t) => {
  const box = new Sandbox(t);
  // A clone of the committed tree, as a user's git URL would give.
  await run('git', ['clone', '--quiet', '--depth', '1', `file://${repoRoot}`, box.path('naught.git')]);
  const dir = await app(box, 'app', `git+file://${box.path('naught.git')}`, { 'server.cjs': SERVER_CJS });
  t.ok(fs.existsSync(path.join(dir, 'node_modules/naught/dist/src/bin/naught.js')), 'prepare built dist/');
  t.match(await lifecycle(t, box, dir, 'server.cjs'), /^cjs [01] /);
});
