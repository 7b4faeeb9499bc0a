import t from 'tap';
import { LastLines } from '../../src/logs/last-lines.js';

const lines = (...texts: string[]) => Buffer.from(texts.map((text) => `${text}\n`).join(''));

t.test('keeps the last lines, across groups and the buffers of one group', async (t) => {
  const tail = new LastLines(3, 64);
  tail.add([lines('one', 'two')]);
  t.same(tail.lines(), ['one', 'two']);
  tail.add([Buffer.from('thr'), lines('ee', 'four')]);
  t.same(tail.lines(), ['two', 'three', 'four'], 'the newest three, a line split over two buffers made whole');
});

t.test('a stream longer than the buffer keeps its end, never a cut first line', async (t) => {
  const tail = new LastLines(20, 32);
  for (let n = 0; n < 100; n++) tail.add([lines(`line ${n}`)]);
  t.same(tail.lines(), ['line 96', 'line 97', 'line 98', 'line 99'], '32 bytes hold the last four whole lines');
  const big = new LastLines(20, 32);
  big.add([lines('a'.repeat(100), 'end of a long group')]);
  t.same(big.lines(), ['end of a long group'], 'a line longer than the buffer is not shown cut');
  big.add([lines('next')]);
  t.same(big.lines(), ['end of a long group', 'next']);
  big.add([lines('c'.repeat(40))]);
  t.same(big.lines(), [], 'nothing whole fits: nothing shown');
});

t.test('copies what it keeps: the reader may reuse its buffer at once', async (t) => {
  const reused = lines('first');
  const tail = new LastLines(5, 64);
  tail.add([reused]);
  reused.fill(0x7a);
  t.same(tail.lines(), ['first']);
});

t.test('overlong lines are shortened for the screen', async (t) => {
  const tail = new LastLines(5, 4096);
  tail.add([lines('b'.repeat(600))]);
  t.same(tail.lines(), [`${'b'.repeat(500)}…`]);
});
