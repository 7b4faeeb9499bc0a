// The ring behind `naught logs`' tail: the order across streams, the bound, and never a torn line.
import t from 'tap';
import { RecentOutput } from '../../src/logs/recent-output.js';

const both = new Set(['stdout', 'stderr'] as const);
const group = (...lines: string[]) => [Buffer.from(lines.map((line) => line + '\n').join(''))];

t.test('the last lines across both streams, in the order they were added', async (t) => {
  const recent = new RecentOutput(1024);
  recent.add('stdout', group('a1', 'a2'));
  recent.add('stderr', group('b1'));
  recent.add('stdout', [Buffer.from('a3\n'), Buffer.from('a4\n')]);
  t.same(recent.last(4, both), [
    { stream: 'stdout', text: 'a2' }, { stream: 'stderr', text: 'b1' }, { stream: 'stdout', text: 'a3' }, { stream: 'stdout', text: 'a4' },
  ]);
  t.same(recent.last(10, new Set(['stderr'] as const)), [{ stream: 'stderr', text: 'b1' }], 'one stream');
  t.same(recent.last(0, both), []);
  t.equal(recent.last(100, both).length, 5, 'no more than it has');
});

t.test('the added buffers may be reused at once: the ring holds copies', async (t) => {
  const recent = new RecentOutput(64);
  const reused = Buffer.from('first\n');
  recent.add('stdout', [reused]);
  reused.write('XXXXX\n');
  t.same(recent.last(1, both), [{ stream: 'stdout', text: 'first' }]);
});

t.test('bounded: once the ring wraps, the oldest groups go whole, and wrapped groups read back intact', async (t) => {
  const recent = new RecentOutput(32);
  for (let i = 0; i < 20; i++) recent.add(i % 2 ? 'stderr' : 'stdout', group(`line ${String(i).padStart(2, '0')}`));
  // Each group is 8 bytes: 4 fit in 32, and each later one lands across the ring's end at some point.
  t.same(recent.last(10, both).map((line) => line.text), ['line 16', 'line 17', 'line 18', 'line 19']);
  recent.add('stdout', group('x'.repeat(10), 'y'.repeat(10)));
  t.same(recent.last(10, both).map((line) => line.text), ['line 19', 'x'.repeat(10), 'y'.repeat(10)], 'a partly overwritten group is dropped, never torn');
});

t.test('a group larger than the ring keeps its end', async (t) => {
  const recent = new RecentOutput(16);
  recent.add('stdout', group('aaaaaaaaaa', 'bbbbbbbbbb', 'cccc'));
  const kept = recent.last(10, both).map((line) => line.text);
  t.equal(kept.at(-1), 'cccc');
  t.ok(kept.join('\n').length < 16);
});

t.test('many tiny groups are bounded too', async (t) => {
  const recent = new RecentOutput(1024 * 1024);
  for (let i = 0; i < 40_000; i++) recent.add('stdout', group(String(i)));
  const all = recent.last(100_000, both);
  t.equal(all.length, 16 * 1024, 'the record count is capped');
  t.equal(all.at(-1)!.text, '39999');
});
