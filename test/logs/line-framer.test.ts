import t from 'tap';
import { LineFramer } from '../../src/logs/line-framer.js';

async function frame(chunks: string[], maxHeld?: number): Promise<string[]> {
  const framer = new LineFramer(maxHeld);
  const out: string[] = [];
  framer.on('data', (d: Buffer) => out.push(d.toString()));
  for (const chunk of chunks) framer.write(Buffer.from(chunk));
  framer.end();
  await new Promise((resolve) => framer.on('end', resolve));
  return out;
}

t.test('passes whole lines, holding a split line until its end arrives', async (t) => {
  t.same(await frame(['a\nb', 'c\nd', 'e', 'f\n']), ['a\n', 'bc\n', 'def\n']);
});

t.test('many lines in one chunk stay one write', async (t) => {
  t.same(await frame(['1\n2\n3\n']), ['1\n2\n3\n']);
});

t.test('an unterminated last line is kept and ended', async (t) => {
  t.same(await frame(['done\npartial']), ['done\n', 'partial\n']);
});

t.test('a line longer than the bound is passed on in pieces, nothing lost', async (t) => {
  const long = 'x'.repeat(100);
  const out = await frame([long.slice(0, 40), long.slice(40, 80), long.slice(80) + '\nnext\n'], 64);
  t.equal(out.join(''), long + '\nnext\n');
  t.ok(out.length >= 2, 'released before the line ended');
});
