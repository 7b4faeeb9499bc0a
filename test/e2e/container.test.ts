// The Dockerfiles in examples/container, built as far as a machine that cannot pull images
// can (test/helpers/dockerfile.ts: exactly the files COPY names, RUN on the base image's
// Node line), then run as PID 1: one request served, SIGHUP deploys, SIGTERM exits 0.
// The images' Node line is theirs whichever Node runs the suite, so the Node matrix
// (scripts/test-node.mjs) leaves this file to `npm test`.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/paths.js';
import { freePort, Sandbox, waitFor } from '../helpers/naught.js';
import { buildImage, type BuiltImage } from '../helpers/dockerfile.js';
import { readyLines, runAsPid1 } from '../helpers/pid1.js';

const run = promisify(execFile);
const root = process.getuid?.() === 0;
const DOCKERFILE = path.join(repoRoot, 'examples/container/Dockerfile');
const APP_DOCKERFILE = path.join(repoRoot, 'examples/container/app.Dockerfile');

/**
 * The registry these machines reach has node-unix-socket's linux-x64 builds only, so npm
 * leaves its other platforms out of a lockfile it writes here, and `npm ci` then calls the
 * lockfile out of sync. A lockfile written where the registry is whole names them all, as
 * naught's own does: added here, as npm would write them (they install on their platform only).
 */
function withEveryPlatform(lockfile: string): void {
  const lock = JSON.parse(fs.readFileSync(lockfile, 'utf8')) as { packages: Record<string, { version: string; optionalDependencies?: Record<string, string> }> };
  const ours = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as typeof lock).packages;
  for (const name of Object.keys(lock.packages['node_modules/node-unix-socket']?.optionalDependencies ?? {})) {
    lock.packages[`node_modules/${name}`] ??= ours[`node_modules/${name}`]!;
  }
  fs.writeFileSync(lockfile, JSON.stringify(lock, null, 2));
}

/** The image's CMD as PID 1, bound to 127.0.0.1: served, deployed by SIGHUP, stopped by SIGTERM with exit 0. */
async function runImage(t: Test, box: Sandbox, image: BuiltImage): Promise<void> {
  const port = await freePort();
  const env = { ...process.env, ...image.env, HOST: '127.0.0.1', PORT: String(port), PATH: `${path.dirname(image.node)}:${process.env.PATH}` };
  const container = await runAsPid1(box, image.cmd, { cwd: path.join(image.root, image.workdir), env });
  const workers = Number(await waitFor('Ready', () => /^Ready\. booting: 0, online: (\d+), dying: 0, new_online: 0$/m.exec(container.stderr())?.[1]));
  const answer = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  t.match(answer, /^hello from worker \d+ \(pid \d+\)\n$/, 'a request served');
  t.match(container.stdout(), new RegExp(`^worker 0 listening on 127\\.0\\.0\\.1:${port}$`, 'm'), "the workers' stdout is the container's");
  process.kill(container.pid, 'SIGHUP');
  await waitFor('the deploy', () => readyLines(container.stderr(), workers) === 2);
  t.ok((await fetch(`http://127.0.0.1:${port}/`)).ok, 'served after the deploy');
  process.kill(container.pid, 'SIGTERM');
  t.equal(await container.exited, 0, 'SIGTERM: exit 0');
  t.match(container.stderr(), /Shutdown\. booting: 0, online: 0, dying: 0, new_online: 0\n$/);
}

t.test("examples/container/Dockerfile builds on its base image's Node and runs as PID 1", { skip: root ? false : 'unshare --pid needs root' }, async (t) => {
  const box = new Sandbox(t);
  const steps: string[] = [];
  const image = await buildImage(DOCKERFILE, repoRoot, box.path('image'), (line) => steps.push(line));
  t.equal(image.nodeLine, '24', 'node:24-slim by default (ARG NODE_VERSION)');
  t.same(steps.filter((step) => step.startsWith('FROM')), ['FROM node:24-slim: Node 24', 'FROM node:24-slim: Node 24']);
  t.ok(fs.existsSync(path.join(image.root, 'app/dist/src/bin/naught.js')), 'the build stage built dist/ and the image has it');
  t.notOk(fs.existsSync(path.join(image.root, 'app/node_modules/typescript')), 'no dev dependency in the image');
  await runImage(t, box, image);
});

t.test('a file the Dockerfile does not COPY fails its build, as in docker', { skip: root ? false : 'unshare --pid needs root' }, async (t) => {
  const box = new Sandbox(t);
  // The defect this file was fixed for: `prepare` needs scripts/bundle.mjs.
  const broken = fs.readFileSync(DOCKERFILE, 'utf8').replace('COPY scripts ./scripts\n', '');
  t.not(broken, fs.readFileSync(DOCKERFILE, 'utf8'));
  fs.writeFileSync(box.path('Dockerfile'), broken);
  await t.rejects(buildImage(box.path('Dockerfile'), repoRoot, box.path('image')), /RUN npm ci failed:[\s\S]*scripts\/bundle\.mjs/);
});

t.test("examples/container/app.Dockerfile: an app that depends on naught's packed tarball, built and run as PID 1", { skip: root ? false : 'unshare --pid needs root' }, async (t) => {
  const box = new Sandbox(t);
  const app = box.path('app');
  fs.mkdirSync(app);
  fs.mkdirSync(path.join(app, 'vendor'));
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', path.join(app, 'vendor')], { cwd: repoRoot });
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'my-app', version: '1.0.0', private: true, dependencies: { naught: `file:vendor/${filename}` } }, null, 2));
  fs.writeFileSync(path.join(app, 'README.md'), 'not in the image: no COPY names it\n');
  fs.copyFileSync(path.join(repoRoot, 'examples/container/server.mjs'), path.join(app, 'server.mjs'));
  // The app's lockfile, as its authors would commit it.
  await run('npm', ['install', '--package-lock-only', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: app });
  withEveryPlatform(path.join(app, 'package-lock.json'));
  const image = await buildImage(APP_DOCKERFILE, app, box.path('image'));
  t.equal(image.nodeLine, '24');
  t.same(fs.readdirSync(path.join(image.root, 'app')).sort(), ['node_modules', 'package-lock.json', 'package.json', 'server.mjs', 'vendor'], 'exactly what COPY names, and what npm ci made');
  await runImage(t, box, image);
});
