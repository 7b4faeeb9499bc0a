// Messages per second and round-trip latency between two processes: our link over an fd-3
// pipe against Node's own process.send channel, with the same messages, in the same run.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createBus, type Bus } from '../src/bus/bus.js';
import { spawnWithPipe } from '../src/bus/fd3.js';
import { createLink, type Link } from '../src/bus/link.js';
import path from 'node:path';
import { machine, markdownTable, median, printTable, quantile, writeBenchmarksSection, writeResult } from './lib/stats.js';

const PEER = fileURLToPath(new URL('./bus-peer.js', import.meta.url));
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const THROUGHPUT_MESSAGES = 100_000;
const WINDOW = 1000;
const ROUND_TRIPS = 5000;

interface Channel {
  ready: Promise<unknown>;
  send(requestId: string): void;
  /** One-way: a fact the peer only counts; workerId -1 asks it for the count. */
  stream(workerId: number): void;
  /** Returns the function that stops it: each pass listens only while it runs. */
  onReply(handler: (requestId: string) => void): () => void;
  close(): Promise<void>;
}

function busChannel(): Channel {
  const { child, pipe } = spawnWithPipe([...(process.env.PEER_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), PEER, 'bus'], {});
  const bus: Bus = createBus('bench');
  const link: Link = createLink(bus, pipe, { name: 'bench', wants: ['pool.reply'] });
  return {
    ready: link.ready,
    send: (requestId) => { bus.publish({ type: 'cmd.status', requestId }); },
    stream: (workerId) => { bus.publish({ type: 'worker.online', workerId, slot: 0, pid: 4242 }); },
    onReply: (handler) => bus.on('pool.reply', (msg) => handler(msg.requestId)),
    close: async () => { link.close(); await once(child, 'exit'); },
  };
}

function ipcChannel(): Channel {
  const child: ChildProcess = fork(PEER, ['ipc'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    ready: once(child, 'spawn'),
    send: (requestId) => { child.send({ type: 'cmd.status', requestId }); },
    stream: (workerId) => { child.send({ type: 'worker.online', workerId, slot: 0, pid: 4242 }); },
    onReply: (handler) => {
      const listener = (msg: { requestId: string }) => handler(msg.requestId);
      child.on('message', listener);
      return () => { child.off('message', listener); };
    },
    close: async () => { child.disconnect(); await once(child, 'exit'); },
  };
}

/** One-way: WINDOW messages per turn of the event loop, until the peer has counted them all. */
async function oneWay(channel: Channel): Promise<number> {
  const start = process.hrtime.bigint();
  let off = () => {};
  const counted = new Promise<string>((resolve) => { off = channel.onReply(resolve); });
  for (let sent = 0; sent < THROUGHPUT_MESSAGES - 1;) {
    for (let i = 0; i < WINDOW && sent < THROUGHPUT_MESSAGES - 1; i++) channel.stream(sent++);
    await new Promise((resolve) => setImmediate(resolve));
  }
  channel.stream(-1);
  const total = Number(await counted);
  off();
  if (total !== THROUGHPUT_MESSAGES) throw new Error('the peer lost messages');
  return THROUGHPUT_MESSAGES / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Keeps WINDOW requests in flight until THROUGHPUT_MESSAGES have been answered. */
async function requestReply(channel: Channel): Promise<number> {
  let sent = 0;
  let answered = 0;
  const start = process.hrtime.bigint();
  await new Promise<void>((resolve) => {
    const off = channel.onReply(() => {
      answered++;
      if (answered === THROUGHPUT_MESSAGES) {
        off();
        resolve();
      }
      else if (sent < THROUGHPUT_MESSAGES) channel.send(String(sent++));
    });
    for (; sent < WINDOW; sent++) channel.send(String(sent));
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  // A request and its reply are two messages.
  return (2 * THROUGHPUT_MESSAGES) / seconds;
}

async function latencies(channel: Channel): Promise<number[]> {
  const samples: number[] = [];
  let started = 0n;
  await new Promise<void>((resolve) => {
    const off = channel.onReply(() => {
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (samples.length === ROUND_TRIPS) {
        off();
        return resolve();
      }
      started = process.hrtime.bigint();
      channel.send(String(samples.length));
    });
    started = process.hrtime.bigint();
    channel.send('0');
  });
  return samples;
}

/**
 * Each pass runs twice on one channel: the first in a fresh peer, while V8 still compiles
 * both ends (a short-lived client's case), the second at steady state (the daemon's and
 * master's links, which live for weeks). The targets are judged on the second.
 */
async function measure(make: () => Channel) {
  const cold = { rates: [] as number[], p99s: [] as number[] };
  const rates: number[] = [];
  const requestReplyRates: number[] = [];
  const p50s: number[] = [];
  const p99s: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const forRate = make();
    await forRate.ready;
    cold.rates.push(await oneWay(forRate));
    rates.push(await oneWay(forRate));
    await forRate.close();
    const forRequests = make();
    await forRequests.ready;
    await requestReply(forRequests);
    requestReplyRates.push(await requestReply(forRequests));
    await forRequests.close();
    const forLatency = make();
    await forLatency.ready;
    cold.p99s.push(quantile(await latencies(forLatency), 0.99));
    const samples = await latencies(forLatency);
    await forLatency.close();
    p50s.push(quantile(samples, 0.5));
    p99s.push(quantile(samples, 0.99));
  }
  return {
    msgsPerSec: Math.round(median(rates)), msgsPerSecMin: Math.round(Math.min(...rates)), msgsPerSecMax: Math.round(Math.max(...rates)),
    requestReplyMsgsPerSec: Math.round(median(requestReplyRates)),
    p50Ms: round(median(p50s)), p99Ms: round(median(p99s)), runs: RUNS,
    cold: { msgsPerSec: Math.round(median(cold.rates)), p99Ms: round(median(cold.p99s)) },
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

const bus = await measure(busChannel);
const nodeIpc = await measure(ipcChannel);
const row = (name: string, r: typeof bus) => [name, r.msgsPerSec, `${r.msgsPerSecMin}-${r.msgsPerSecMax}`, r.requestReplyMsgsPerSec, r.p50Ms, r.p99Ms, r.cold.msgsPerSec, r.cold.p99Ms];
printTable(['channel', 'one-way msgs/s', 'min-max', 'req+reply msgs/s', 'p50 ms', 'p99 ms', 'cold one-way', 'cold p99 ms'], [
  row('naught link (fd 3, msgpack)', bus),
  row('node process.send (JSON IPC)', nodeIpc),
]);
console.log(`\none-way ratio ${(bus.msgsPerSec / nodeIpc.msgsPerSec).toFixed(2)}x (cold ${(bus.cold.msgsPerSec / nodeIpc.cold.msgsPerSec).toFixed(2)}x), request+reply ratio ${(bus.requestReplyMsgsPerSec / nodeIpc.requestReplyMsgsPerSec).toFixed(2)}x`);
const oneWayMet = bus.msgsPerSec / nodeIpc.msgsPerSec >= 5;
const p99Met = bus.p99Ms <= nodeIpc.p99Ms;
console.log(`targets, at steady state: one-way ≥ 5x Node IPC: ${(bus.msgsPerSec / nodeIpc.msgsPerSec).toFixed(2)}x, ${oneWayMet ? 'met' : 'missed'}; round-trip p99 ≤ Node IPC's: ${bus.p99Ms} ms against ${nodeIpc.p99Ms} ms, ${p99Met ? 'met' : 'missed'}`);
console.log(`medians of ${RUNS} runs; each pass twice on one channel, the first (cold) in a fresh peer; one-way: ${THROUGHPUT_MESSAGES} messages, ${WINDOW} per event-loop turn; request+reply: ${WINDOW} in flight; latency: ${ROUND_TRIPS} sequential round trips`);
const info = machine();
writeResult(path.join(ROOT, 'bench/results/bus.json'), { machine: info, date: new Date().toISOString(), bus, nodeIpc, ratio: bus.msgsPerSec / nodeIpc.msgsPerSec });
const headers = ['channel', 'one-way msgs/s (min-max)', 'req+reply msgs/s', 'p50 ms', 'p99 ms', 'cold one-way msgs/s', 'cold p99 ms'];
const mdRow = (name: string, r: typeof bus) => [name, `${r.msgsPerSec} (${r.msgsPerSecMin}-${r.msgsPerSecMax})`, r.requestReplyMsgsPerSec, r.p50Ms, r.p99Ms, r.cold.msgsPerSec, r.cold.p99Ms];
writeBenchmarksSection(ROOT, '## Bus', [
  '## Bus',
  '',
  `Our link (fd-3 pipe, msgpack frames) against Node's \`process.send\` channel (JSON), the same messages in the same run. Each pass runs twice on one channel: cold (a fresh peer, V8 still compiling) and then at steady state, which the targets judge. One-way: ${THROUGHPUT_MESSAGES} messages, ${WINDOW} per event-loop turn; request+reply: ${WINDOW} in flight; latency: ${ROUND_TRIPS} sequential round trips. Medians of ${RUNS} runs. One-way ${(bus.msgsPerSec / nodeIpc.msgsPerSec).toFixed(2)}× Node IPC (target ≥ 5×, ${oneWayMet ? 'met' : 'missed'}), cold ${(bus.cold.msgsPerSec / nodeIpc.cold.msgsPerSec).toFixed(2)}×; p99 ${bus.p99Ms} against ${nodeIpc.p99Ms} ms (target ≤, ${p99Met ? 'met' : 'missed'}). \`npm run bench:bus\`. ${info.cpus} × ${info.cpuModel}, Node ${info.node}.`,
  '',
  ...markdownTable(headers, [mdRow('naught link', bus), mdRow('node process.send', nodeIpc)]),
  '',
].join('\n'));
