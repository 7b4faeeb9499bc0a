import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { descendants, readText, waitFor } from '../helpers/naught.js';
import { checksThatWaited, compress, finishCompressing, FLOOD_BYTES_PER_SECOND, MAX_WAIT_MS, noteLogged } from '../../src/logs/compressor.js';

t.teardown(() => finishCompressing());

t.test('gzips a file into FILE.gz and removes the file, several queued at once', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-compress-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const files = [1, 2, 3].map((n) => {
    const file = path.join(dir, `out-${n}.log`);
    fs.writeFileSync(file, `line of file ${n}\n`.repeat(10_000 * n));
    return file;
  });
  await Promise.all(files.map((file) => compress(file)));
  files.forEach((file, i) => {
    t.notOk(fs.existsSync(file), `${path.basename(file)} is gone`);
    t.equal(zlib.gunzipSync(fs.readFileSync(`${file}.gz`)).toString(), `line of file ${i + 1}\n`.repeat(10_000 * (i + 1)), 'its archive holds every line');
  });
});

t.test('a file it cannot read fails with the reason, leaves no archive, and the next file still works', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-compress-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const missing = path.join(dir, 'missing.log');
  await t.rejects(compress(missing), { message: /ENOENT: no such file or directory, open '.*missing\.log'/ });
  t.notOk(fs.existsSync(`${missing}.gz`), 'no partial archive');
  const file = path.join(dir, 'present.log');
  fs.writeFileSync(file, 'still here\n');
  await compress(file);
  t.equal(zlib.gunzipSync(fs.readFileSync(`${file}.gz`)).toString(), 'still here\n');
  await t.rejects(compress(path.join(dir, 'a\nb.log')), { message: 'a file name with a line break cannot be sent to the compressor' });
});

t.test('a file sent after the compressor was told to finish starts a new one', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-compress-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const first = path.join(dir, 'first.log');
  const second = path.join(dir, 'second.log');
  fs.writeFileSync(first, 'one\n');
  fs.writeFileSync(second, 'two\n');
  await compress(first);
  const finished = finishCompressing();
  await compress(second);
  await finished;
  t.equal(zlib.gunzipSync(fs.readFileSync(`${second}.gz`)).toString(), 'two\n', 'compressed, not failed with the finishing one');
});

t.test('a compressor killed mid-file fails that file, which stays whole, and the next file starts a new one', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-compress-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  await finishCompressing(); // so that the compressor found below is the one given this file
  const big = path.join(dir, 'big.log');
  const content = randomBytes(30 * 1024 * 1024); // incompressible: it takes a while
  fs.writeFileSync(big, content);
  const pending = compress(big);
  const compressor = await waitFor('the compressor process', () => descendants(process.pid)
    .find((pid) => readText(`/proc/${pid}/cmdline`).includes('compressor.js')), 5000);
  process.kill(compressor, 'SIGKILL');
  await t.rejects(pending, { message: 'the compressor exited (SIGKILL)' });
  t.ok(fs.readFileSync(big).equals(content), 'the file is untouched');
  t.notOk(fs.existsSync(`${big}.gz`), 'and its partial archive is gone');
  const next = path.join(dir, 'next.log');
  fs.writeFileSync(next, 'next\n');
  await compress(next);
  t.equal(zlib.gunzipSync(fs.readFileSync(`${next}.gz`)).toString(), 'next\n');
});

t.test('while the logs are flooded a file waits uncompressed: until the flood passes, or MAX_WAIT_MS at most', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-compress-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const flood = () => setInterval(() => noteLogged(FLOOD_BYTES_PER_SECOND), 100); // ten times the rate
  const [first, second] = ['first.log', 'second.log'].map((name) => {
    fs.writeFileSync(path.join(dir, name), `${name}\n`);
    return path.join(dir, name);
  }) as [string, string];

  let flooding = flood();
  const checked = checksThatWaited();
  const firstDone = compress(first);
  await waitFor('four checks that saw the flood', () => checksThatWaited() >= checked + 4);
  t.ok(fs.existsSync(first) && !fs.existsSync(`${first}.gz`), 'not compressed while the flood lasts');
  clearInterval(flooding);
  await firstDone;
  t.equal(zlib.gunzipSync(fs.readFileSync(`${first}.gz`)).toString(), 'first.log\n', 'compressed once it passed');

  flooding = flood();
  t.teardown(() => clearInterval(flooding));
  const since = Date.now();
  await compress(second);
  const waited = Date.now() - since;
  t.ok(waited >= MAX_WAIT_MS, `a flood that lasts delays it ${MAX_WAIT_MS} ms (${waited} ms)`);
  // The cap, plus the compression of one short line and a slow machine's start of the compressor.
  t.ok(waited < MAX_WAIT_MS + 3_000, `and no more (${waited} ms)`);
  t.ok(fs.existsSync(`${second}.gz`), 'compressed while the flood goes on');
});

t.test('finishing (the daemon stopping) compresses a file that waits for a flood at once', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-compress-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const flooding = setInterval(() => noteLogged(FLOOD_BYTES_PER_SECOND), 100);
  t.teardown(() => clearInterval(flooding));
  const file = path.join(dir, 'waiting.log');
  fs.writeFileSync(file, 'waiting\n');
  const checked = checksThatWaited();
  const done = compress(file);
  await waitFor('a check that saw the flood', () => checksThatWaited() > checked);
  t.ok(fs.existsSync(file), 'it waits while the flood lasts');
  const since = Date.now();
  await finishCompressing();
  await done;
  // One check (250 ms) has passed: waiting out the cap would take most of MAX_WAIT_MS from here.
  const took = Date.now() - since;
  t.ok(took < MAX_WAIT_MS / 2, `finishing did not wait for the flood to end (${took} ms)`);
  t.equal(zlib.gunzipSync(fs.readFileSync(`${file}.gz`)).toString(), 'waiting\n');
});
