import t from 'tap';
import { LineFramer, lineFramed } from '../../src/logs/line-framer.js';

/** Each group `take` or `end` gave, as text. */
function frame(chunks: string[], maxHeld?: number): string[] {
  const framer = new LineFramer(maxHeld);
  const groups = chunks.map((chunk) => framer.take(Buffer.from(chunk)));
  groups.push(framer.end());
  return groups.filter((group) => group.length > 0).map((group) => Buffer.concat(group).toString());
}

t.test('gives whole lines, holding a split line until its end arrives', async (t) => {
  t.same(frame(['a\nb', 'c\nd', 'e', 'f\n']), ['a\n', 'bc\n', 'def\n']);
});

t.test('many lines in one chunk stay one group, the chunk itself', async (t) => {
  const chunk = Buffer.from('1\n2\n3\n');
  const group = new LineFramer().take(chunk);
  t.equal(group.length, 1);
  t.equal(group[0], chunk, 'not copied');
});

t.test('a held part is copied, so the reader may reuse its buffer; the chunk that ends the line is not', async (t) => {
  const framer = new LineFramer();
  const buffer = Buffer.from('par');
  t.same(framer.take(buffer), []);
  buffer.write('XYZ'); // the reader's next read lands in the same buffer
  const second = Buffer.from('tial\nnext');
  const group = framer.take(second);
  t.equal(group.length, 2);
  t.equal(Buffer.concat(group).toString(), 'partial\n', 'the held part kept, though its buffer was overwritten');
  t.ok(group[1]!.buffer === second.buffer && group[1]!.byteOffset === second.byteOffset, 'the rest a slice of the chunk');
  second.write('XXXXXXXXXX');
  t.equal(Buffer.concat(framer.end()).toString(), 'next\n', 'the held tail copied too');
});

t.test('an unterminated last line is kept and ended; nothing held gives nothing', async (t) => {
  t.same(frame(['done\npartial']), ['done\n', 'partial\n']);
  t.same(frame(['done\n']), ['done\n']);
  t.same(frame([]), []);
});

t.test('a line longer than the bound is given in pieces, nothing lost', async (t) => {
  const long = 'x'.repeat(100);
  const out = frame([long.slice(0, 40), long.slice(40, 80), long.slice(80) + '\nnext\n'], 64);
  t.equal(out.join(''), long + '\nnext\n');
  t.ok(out.length >= 2, 'released before the line ended');
});

t.test('lineFramed streams each group as one chunk', async (t) => {
  const stream = lineFramed();
  const out: string[] = [];
  stream.on('data', (d: Buffer) => out.push(d.toString()));
  for (const chunk of ['a\nb', 'c\nd', 'e']) stream.write(Buffer.from(chunk));
  stream.end();
  await new Promise((resolve) => stream.on('end', resolve));
  t.same(out, ['a\n', 'bc\n', 'de\n']);
});
