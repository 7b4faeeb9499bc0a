import t, { type Test } from 'tap';
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fixture } from '../helpers/paths.js';
import { wholeLog, archives } from '../helpers/logs.js';
import { descendants, freePort, get, Sandbox, waitFor } from '../helpers/naught.js';

const readLog = (box: Sandbox) => fs.readFileSync(box.path('naught.log'), 'utf8');
const text = (file: string) => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '');

async function started(t: Test, server: string, args: string[], env: Record<string, string> = {}) {
  const box = new Sandbox(t);
  const port = await freePort();
  const run = await box.naught(['start', ...args, fixture(server)], { PORT: String(port), ...env });
  t.equal(run.code, 0, `start: ${run.stderr}`);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  return { box, port };
}

t.test('lines over 64 KiB from two workers at once stay whole and unmixed', async (t) => {
  const { box } = await started(t, 'writes-long-lines.cjs', ['--worker-count', '2'], { LINES: '40' });
  const lines = await waitFor('80 long lines', () => {
    const all = text(box.path('stdout.log')).split('\n').filter(Boolean);
    return all.length >= 80 ? all : null;
  });
  for (const worker of ['0', '1']) {
    const mine = lines.filter((l) => l.startsWith(`w${worker} `));
    t.same(mine.map((l) => Number(l.split(' ')[1])), Array.from({ length: 40 }, (_, i) => i), `worker ${worker}: every line once, in order`);
    t.ok(mine.every((l) => l === `w${worker} ${l.split(' ')[1]} ${worker.repeat(100 * 1024)}`), `worker ${worker}: every line whole, no bytes of the other`);
  }
});

t.test('a worker killed mid-line loses nothing but the line\'s end, and the next line starts clean', async (t) => {
  const { box, port } = await started(t, 'writes-half-a-line.cjs', []);
  const first = await get(port);
  await waitFor('the whole line', () => text(box.path('stdout.log')).includes(`whole line from ${first.pid}\n`));
  process.kill(first.pid, 'SIGKILL');
  const second = await waitFor('the replacement', () => get(port).then((r) => (r.pid !== first.pid ? r : null), () => null));
  const log = await waitFor('the replacement\'s line', () => (text(box.path('stdout.log')).includes(`whole line from ${second.pid}`) ? text(box.path('stdout.log')) : null));
  t.same(log.split('\n').slice(0, 3), [`whole line from ${first.pid}`, `half a line from ${first.pid}`, `whole line from ${second.pid}`]);
});

t.test('a flood is slowed, not buffered: the daemon stays within 64 MiB of its idle RSS, every line lands', async (t) => {
  const { box } = await started(t, 'floods.cjs', ['--worker-count', '2', '--max-log-size', String(16 * 1024 * 1024)], { MEGABYTES: '60' });
  const daemonPid = box.daemonPid()!;
  const [masterPid] = descendants(daemonPid);
  const rss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(text(`/proc/${pid}/status`))?.[1] ?? 0) * 1024;
  const idle = { daemon: rss(daemonPid), master: rss(masterPid!) };
  // Stall the daemon's disk side: it stops reading, so the flood has nowhere to go but back to the workers.
  process.kill(daemonPid, 'SIGSTOP');
  let masterPeak = 0;
  // Held back: the workers' bytes written (wchar) stop growing for 200 ms, their pipes full.
  const workers = descendants(masterPid!);
  const wchar = (pid: number) => Number(/^wchar: (\d+)$/m.exec(text(`/proc/${pid}/io`))?.[1] ?? 0);
  let last = -1;
  let steadySince = Date.now();
  try {
    await waitFor('the flood to be held back at the workers', () => {
      masterPeak = Math.max(masterPeak, rss(masterPid!));
      const written = workers.reduce((sum, pid) => sum + wchar(pid), 0);
      if (written !== last) steadySince = Date.now();
      last = written;
      return Date.now() - steadySince >= 200;
    });
  } finally {
    process.kill(daemonPid, 'SIGCONT');
  }
  let daemonPeak = 0;
  await waitFor('both workers done', () => {
    daemonPeak = Math.max(daemonPeak, rss(daemonPid));
    masterPeak = Math.max(masterPeak, rss(masterPid!));
    try {
      const log = wholeLog(box.dir, 'stdout.log').text;
      return log.includes('w0 done') && log.includes('w1 done');
    } catch {
      return false;
    }
  }, 120_000);
  t.comment(`idle RSS daemon ${(idle.daemon / 2 ** 20).toFixed(1)} MiB, master ${(idle.master / 2 ** 20).toFixed(1)} MiB; peak daemon ${(daemonPeak / 2 ** 20).toFixed(1)} MiB, master ${(masterPeak / 2 ** 20).toFixed(1)} MiB`);
  t.ok(daemonPeak - idle.daemon < 64 * 2 ** 20, 'daemon RSS within 64 MiB of idle');
  t.ok(masterPeak - idle.master < 64 * 2 ** 20, 'master RSS within 64 MiB of idle while the daemon stalled');
  const lines = wholeLog(box.dir, 'stdout.log').text.split('\n');
  for (const worker of ['w0', 'w1']) {
    const done = lines.find((l) => l.startsWith(`${worker} done `))!;
    const count = Number(done.split(' ')[2]);
    const seen = lines.filter((l) => l.startsWith(`${worker} `) && !l.includes(' done '));
    t.equal(seen.length, count, `${worker}: all ${count} lines, none twice`);
    t.ok(seen.every((l, i) => l === `${worker} ${i} ${'x'.repeat(80)}`), `${worker}: in order and whole`);
  }
});

t.test('a full disk: reported once, workers keep serving, logging resumes when space returns', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.mkdirSync(box.path('logs'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', box.path('logs')]);
  t.teardown(() => { try { execFileSync('umount', ['-l', box.path('logs')]); } catch { /* already gone */ } });
  t.equal((await box.naught(['start', '--stdout', 'logs/out.log', fixture('writes-steadily.cjs')], { PORT: String(port) })).code, 0);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('some lines', () => text(box.path('logs/out.log')).length > 0);
  const filler = box.path('logs/filler');
  try { fs.writeFileSync(filler, Buffer.alloc(1024 * 1024)); } catch { /* filled to the last byte */ }
  await waitFor('the failure notice', () => readLog(box).includes('Error writing to'));
  const servedDuring = await get(port);
  t.ok(servedDuring.pid > 0, 'the worker serves while its log cannot be written');
  const before = servedDuring as unknown as { lines: number };
  await waitFor('more lines written meanwhile', () => get(port).then((r) => (r as unknown as { lines: number }).lines > before.lines + 200));
  fs.rmSync(filler);
  await waitFor('the recovery notice', () => readLog(box).includes(`Writing to ${box.path('logs/out.log')} again`), 10_000);
  const notices = readLog(box).split('\n').filter((l) => !/^[A-Z][A-Za-z]+\. booting/.test(l) && !l.startsWith('Workers drain') && l);
  t.equal(notices.length, 2, 'one failure, one recovery: no loop');
  t.match(notices[0], new RegExp(`^Error writing to ${box.path('logs/out.log')}: ENOSPC: no space left on device.*Its lines are dropped until it can be written again\\.$`));
  t.match(notices[1], /again; \d+ lines \(\d+ bytes\) were dropped meanwhile\.$/);
  const size = fs.statSync(box.path('logs/out.log')).size;
  await waitFor('new lines after the recovery', () => fs.statSync(box.path('logs/out.log')).size > size + 100);
});

t.test('an unwritable log folder: reported once, workers keep serving, logging resumes when it is writable again', async (t) => {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.mkdirSync(box.path('logs'));
  const nobody = 65534;
  for (const dir of [box.dir, box.path('logs')]) fs.chownSync(dir, nobody, nobody);
  fs.chmodSync(box.dir, 0o755);
  // As root nothing is unwritable, so the daemon runs as nobody (the tests run as root, as CI does).
  t.equal(process.getuid?.(), 0, 'this test needs root to run the daemon as another user');
  const start = await box.naughtAs(nobody, ['start', '--stdout', 'logs/out.log', '--max-log-size', '20000', fixture('writes-steadily.cjs')], { PORT: String(port) });
  t.equal(start.code, 0, start.stderr);
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('a first rotation', () => fs.readdirSync(box.path('logs')).some((f) => f.endsWith('.gz')));
  fs.chmodSync(box.path('logs'), 0o555);
  // The rotation's rename is what fails; the archive rotated just before may fail to compress too, said apart.
  await waitFor('the failure notice', () => readLog(box).includes('EACCES: permission denied, rename'), 15_000);
  const during = (await get(port)) as unknown as { lines: number };
  await waitFor('the worker writing on meanwhile', () => get(port).then((r) => (r as unknown as { lines: number }).lines > during.lines + 1000));
  fs.chmodSync(box.path('logs'), 0o755);
  await waitFor('the recovery notice', () => readLog(box).includes(`Writing to ${box.path('logs/out.log')} again`), 10_000);
  const all = readLog(box).split('\n').filter((l) => l && !/^[A-Z][A-Za-z]+\. booting/.test(l) && !l.startsWith('Workers drain'));
  const compressions = all.filter((l) => l.includes(': could not compress '));
  const notices = all.filter((l) => !compressions.includes(l));
  t.equal(notices.length, 2, `one failure, one recovery, however many retries failed: ${notices.join(' | ')}`);
  t.match(notices[0], /^Error writing to .*EACCES: permission denied, rename/);
  t.ok(compressions.length <= 1, `a failed compression is said at most once: ${compressions.join(' | ')}`);
});

t.test('a deleted log file is noticed and recreated; reopen-logs and SIGUSR2 serve logrotate', async (t) => {
  const { box } = await started(t, 'writes-steadily.cjs', []);
  const out = box.path('stdout.log');
  await waitFor('some lines', () => text(out).length > 0);
  fs.rmSync(out);
  await waitFor('the file recreated', () => text(out).length > 0);
  t.match(readLog(box), `${out} was moved or deleted; reopened it.`);

  fs.renameSync(out, `${out}.1`);
  // The inode watch may notice the move first and say so; either way the files are reopened.
  t.match(await box.naught(['reopen-logs']), { code: 0, stdout: '', stderr: /^(.* was moved or deleted; reopened it\.\n)*logs reopened\n$/ });
  await waitFor('lines in the new file', () => text(out).length > 0);
  // Lines are written in order: once later ones land in the new file, none goes to the old.
  const rotated = text(`${out}.1`).length;
  const inNew = text(out).length;
  await waitFor('more lines in the new file', () => text(out).length > inNew);
  t.equal(text(`${out}.1`).length, rotated, 'the old file left alone');

  // SIGUSR2's own answer, seen by a follower: the inode watch would reopen a moved file
  // anyway, so new lines alone could not tell that SIGUSR2 did anything.
  const follower = box.spawn(['trace', '--follow', '--type', 'logs.reopened']);
  await waitFor('the follower to attach', async () => {
    await box.naught(['reopen-logs']);
    return follower.output().stdout.includes('logs.reopened');
  });
  fs.renameSync(out, `${out}.2`);
  process.kill(box.daemonPid()!, 'SIGUSR2');
  await waitFor('the reopen that SIGUSR2 asked for', () => / daemon → logs\.reopened {2}requestId=signal:SIGUSR2$/m.test(follower.output().stdout));
  await waitFor('lines in the new file after SIGUSR2', () => text(out).length > 0);
  follower.kill('SIGTERM');
});

t.test('--max-log-files keeps only the newest archives', async (t) => {
  const { box, port } = await started(t, 'writes-steadily.cjs', ['--max-log-size', '2000', '--max-log-files', '2']);
  // A line every 2 ms into 2 kB files: dozens of rotations within a second or two.
  await waitFor('many lines', () => get(port).then((r) => (r as unknown as { lines: number }).lines > 1500));
  const settled = () => {
    try {
      const list = archives(box.dir, 'stdout', '.log');
      return list.length === 2 ? list : null;
    } catch {
      return null; // an archive still being written
    }
  };
  const list = await waitFor('two archives', settled);
  const first = Number(/^w0 line (\d+)$/m.exec(list[0]!.text)?.[1]);
  t.ok(first > 100, `the oldest kept archive starts at line ${first}: the earlier ones were deleted`);
});
