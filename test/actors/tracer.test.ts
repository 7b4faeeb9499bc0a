import t from 'tap';
import fs from 'node:fs';
import { waitFor } from '../helpers/naught.js';
import os from 'node:os';
import path from 'node:path';
import { createBus } from '../../src/bus/bus.js';
import { FrameDecoder } from '../../src/bus/codec.js';
import type { Envelope } from '../../src/bus/messages.js';
import { createTracerActor } from '../../src/actors/tracer.js';

t.test('a bus faster than the disk costs trace frames, counted and reported, never memory', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'naught-tracer-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'trace.bin');
  const bus = createBus('daemon');
  const tracer = await createTracerActor({ bus, file, maxSize: 1024 ** 3, maxFiles: 0 });
  const reports: string[] = [];
  bus.on('notice', ({ code, message }) => { if (code === 'TRACE_DROPPED') reports.push(message); });

  // 100 messages of 100 kB in one turn of the event loop: no write can finish meanwhile,
  // so the tracer queues 4 MiB and drops the rest.
  const BURST = 100;
  const big = 'x'.repeat(100_000);
  for (let i = 0; i < BURST; i++) bus.publish({ type: 'notice', code: 'PLUGIN_LOG', message: `${i} ${big}` });
  t.same(reports, [], 'nothing is said while the burst lasts');
  // Once what was queued is on disk, the next message finds room and says what was dropped.
  await waitFor('the queued part of the burst on disk', () => fs.statSync(file).size >= 4 * 1024 * 1024);
  bus.publish({ type: 'notice', code: 'PLUGIN_LOG', message: 'after the burst' });
  await tracer.close();

  t.equal(reports.length, 1, 'one report for the whole burst');
  const dropped = Number(/could not keep up: (\d+) messages were not recorded\.$/.exec(reports[0] ?? '')?.[1]);
  t.ok(dropped > 0 && dropped < BURST, `${dropped} of ${BURST} dropped`);

  const recorded: Envelope[] = [];
  new FrameDecoder(1024 * 1024, false).feed(fs.readFileSync(file), (envelope) => recorded.push(envelope));
  const burst = recorded.filter((e) => e.msg.type === 'notice' && e.msg.code === 'PLUGIN_LOG' && e.msg.message !== 'after the burst');
  t.equal(burst.length + dropped, BURST, 'every burst message is either on disk or counted');
  t.same(burst.map((e) => Number((e.msg as { message: string }).message.split(' ')[0])), Array.from({ length: burst.length }, (_, i) => i),
    'what was kept is the start of the burst, in order');
  t.ok(burst.length * big.length <= 4 * 1024 * 1024 + big.length + 100, `the queue stayed within its 4 MiB bound (${burst.length} kept)`);
  t.ok(recorded.some((e) => e.msg.type === 'notice' && e.msg.code === 'TRACE_DROPPED'), 'and the report is in the trace too');
});
