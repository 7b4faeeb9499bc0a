// Runs every compiled tap test and ends with the plain line CI reads: `N passed, M failed`.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

// tap skips git-ignored folders such as dist/ when it searches, so the files are named here.
// `--except=FILE` leaves one out of the whole suite (the Node matrix, scripts/test-node.mjs).
const args = process.argv.slice(2);
const except = args.filter((arg) => arg.startsWith('--except=')).map((arg) => arg.slice('--except='.length));
const named = args.filter((arg) => !arg.startsWith('--except='));
const files = named.length > 0
  ? named
  : readdirSync('dist/test', { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.test.js'))
    .sort()
    .map((name) => `dist/test/${name}`)
    .filter((file) => !except.includes(file));
const tap = spawn(process.execPath, ['node_modules/tap/dist/esm/run.mjs', '--reporter=tap', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
let summary = null;
let tail = '';
tap.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4096);
  const match = /^# \{ total: (\d+), pass: (\d+)(?:, fail: (\d+))?/m.exec(tail);
  if (match) summary = { pass: Number(match[2]), fail: Number(match[3] ?? 0), total: Number(match[1]) };
});
tap.on('close', (code) => {
  const passed = summary?.pass ?? 0;
  // Anything tap counted that did not pass (todo, skip, bail-outs) counts as failed here.
  const failed = summary ? summary.total - summary.pass : 1;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code === 0 && failed === 0 ? 0 : 1);
});
