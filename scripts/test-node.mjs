// The Node matrix: `npm run test:node -- 22 24 26` runs the whole suite once per Node line,
// each with that line's `node` (fetched on demand: test/helpers/node-lines.ts) running the
// test runner, the CLI, the daemon, the master and the workers alike: naught starts its
// processes with process.execPath, and the line's bin folder leads PATH for everything
// else. Prints one `N passed, M failed` line per line with its wall time, then the totals.
// `--` and test files after the lines narrow the suite: `npm run test:node -- 26 -- dist/test/e2e/drain.test.js`.
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { nodeBinary } from '../dist/test/helpers/node-lines.js';

const args = process.argv.slice(2);
const split = args.indexOf('--');
const lines = split === -1 ? args : args.slice(0, split);
// The container test builds its images on their base image's Node line whichever line runs
// the suite: `npm test` runs it once, and the matrix leaves it out.
const files = split === -1 ? ['--except=dist/test/e2e/container.test.js'] : args.slice(split + 1);
if (lines.length === 0 || lines.some((line) => !/^\d+(\.\d+){0,2}$/.test(line))) {
  console.error('usage: npm run test:node -- LINE... [-- test files]   (LINE: 22, 24, 26, or an exact version)');
  process.exit(1);
}

const results = [];
for (const line of lines) {
  const node = nodeBinary(line);
  const started = Date.now();
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
  const counts = await runSuite(node);
  const seconds = Math.round((Date.now() - started) / 1000);
  results.push({ line, version, seconds, ...counts });
  console.log(`\nNode ${version}: ${counts.passed} passed, ${counts.failed} failed (${seconds} s)\n`);
}
for (const { version, passed, failed, seconds } of results) console.log(`Node ${version}: ${passed} passed, ${failed} failed (${seconds} s)`);
const passed = results.reduce((sum, result) => sum + result.passed, 0);
const failed = results.reduce((sum, result) => sum + result.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);

/** Runs scripts/run-tests.mjs on `node`; its last line has the counts (a crash counts as one failure). */
function runSuite(node) {
  return new Promise((resolve) => {
    const env = { ...process.env, PATH: `${path.dirname(node)}:${process.env.PATH}` };
    // npm sets these to its own node; the suite must see only the line's.
    delete env.npm_node_execpath;
    delete env.NODE;
    const child = spawn(node, ['scripts/run-tests.mjs', ...files], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-200);
    });
    child.on('close', () => {
      const match = /(\d+) passed, (\d+) failed\s*$/.exec(tail);
      resolve(match ? { passed: Number(match[1]), failed: Number(match[2]) } : { passed: 0, failed: 1 });
    });
  });
}
