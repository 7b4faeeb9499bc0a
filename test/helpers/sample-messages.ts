import type { Message, MessageType } from '../../src/bus/messages.js';

const SAMPLE_POOL = {
  counts: { booting: 1, online: 0, dying: 0, new_online: 1 }, waitingFor: 'new' as const, workerCount: 2,
  deploy: { startedAt: '2026-12-01T06:00:00.000Z', phase: 'new' as const, targetWorkerCount: 2, requestedBy: 'cli:4300' },
};
const SAMPLE_WORKER = {
  slot: 1, pid: 4242, state: 'online' as const, generation: 1, uptimeSeconds: 3, restarts: 2,
  lastExit: { code: null, signal: 'SIGKILL', at: '2026-12-01T05:59:00.000Z' }, rssBytes: 40_000_000, cpuPercent: 1.5,
  lagMs: { p50: 10.1, p99: 12.5, max: 40 }, heapUsedBytes: 5_000_000,
};

const counts = { booting: 1, online: 2, dying: 0, new_online: 0 };
const server = { script: '/srv/app.js', args: ['--port', '80'], workerCount: 2, cwd: '/srv', nodeArgs: ['--max-old-space-size=256'], env: { A: '1' }, drain: 'auto' as const, drainRecentMs: 1000, bootTimeoutMs: null, workerTimeoutMs: null, maxWorkerMemoryBytes: null, ready: 'online' as const };

// One message of every type; the Record makes the compiler insist on all of them.
const byType: { [T in MessageType]: Extract<Message, { type: T }> } = {
  'link.hello': { type: 'link.hello', name: 'cli', wants: ['pool.event'] },
  'link.ping': { type: 'link.ping', n: 1 },
  'link.pong': { type: 'link.pong', n: 1 },
  'plugin.ready': { type: 'plugin.ready', name: 'slack', publishes: ['cmd.deploy'] },
  'plugin.list': { type: 'plugin.list', requestId: 'r4', plugins: [{ module: 'naught/plugins/slack', name: 'slack', state: 'running', pid: 7, restarts: 0 }] },
  'cmd.start': { type: 'cmd.start', config: { ...server, ipcFile: '/srv/naught.ipc', pidFile: '/srv/naught.pid', log: 'naught.log', stdout: 'stdout.log', stderr: 'stderr.log', maxLogSize: 10485760, maxLogFiles: 0, trace: null, plugins: [{ module: './p.mjs', file: '/srv/p.mjs', options: { a: 1 } }], health: null, listen: [] } },
  'cmd.boot': { type: 'cmd.boot', generation: 1, startScript: '/srv/app.js', config: server, firstBoot: true, output: { stdout: 'pipe', stderr: 'ignore' } },
  'cmd.reopen-logs': { type: 'cmd.reopen-logs', requestId: 'r5' },
  'logs.reopened': { type: 'logs.reopened', requestId: 'r5' },
  'worker.hung': { type: 'worker.hung', workerId: 3, slot: 1, pid: 4242, silentMs: 30_000 },
  'worker.over-memory': { type: 'worker.over-memory', workerId: 3, slot: 1, pid: 4242, rssBytes: 600_000_000, limitBytes: 536_870_912 },
  'worker.replacing': { type: 'worker.replacing', workerId: 3, slot: 1, reason: 'memory' },
  'cmd.inspect': { type: 'cmd.inspect', requestId: 'r10' },
  'worker.metrics-asked': { type: 'worker.metrics-asked', requestId: 'r-7', workerIds: [3, 4] },
  'worker.metrics': { type: 'worker.metrics', workerId: 3, slot: 1, pid: 4242, lagMs: { p50: 10.1, p99: 12.5, max: 40 }, heapUsedBytes: 5_000_000 },
  'master.census': { type: 'master.census', requestId: 'r10', master: { pid: 4200, rssBytes: 50_000_000 }, pool: SAMPLE_POOL, workers: [SAMPLE_WORKER] },
  'status.report': {
    type: 'status.report', requestId: 'r10',
    report: {
      running: true,
      daemon: { pid: 4100, version: '2.0.0', uptimeSeconds: 12, rssBytes: 60_000_000, ipcFile: '/srv/naught.ipc', pidFile: '/srv/naught.pid', paths: { log: '/srv/naught.log', stdout: '/srv/stdout.log', stderr: '/srv/stderr.log' }, drain: { mode: 'auto', recentMs: 1000 } },
      master: { pid: 4200, rssBytes: 50_000_000, restarts: 0 },
      pool: SAMPLE_POOL,
      workers: [SAMPLE_WORKER],
      plugins: [],
      logs: [{ name: 'stdout', path: '/srv/stdout.log', bytesWritten: 100, linesWritten: 4, linesDropped: 0, archives: 1 }],
      trace: { path: '/srv/trace.bin', bytesWritten: 5000, framesDropped: 0 },
    },
  },
  'cmd.logs': { type: 'cmd.logs', requestId: 'r9', lines: 50, streams: ['stdout', 'stderr'], follow: true },
  'logs.lines': { type: 'logs.lines', requestId: 'r9', stream: 'stderr', data: Buffer.from('one\ntwo\n') },
  'logs.missed': { type: 'logs.missed', requestId: 'r9', lines: 1234 },
  'logs.tailed': { type: 'logs.tailed', requestId: 'r9', files: { stdout: '/var/log/app/stdout.log', stderr: null }, following: true },
  'cmd.deploy': { type: 'cmd.deploy', requestId: 'r1', workerCount: 0, env: { B: '2' }, cwd: null, timeoutMs: 1500 },
  'cmd.deploy-abort': { type: 'cmd.deploy-abort', requestId: 'r2' },
  'cmd.stop': { type: 'cmd.stop', requestId: 'r3', timeoutMs: null },
  'cmd.status': { type: 'cmd.status', requestId: 'r4' },
  'worker.spawned': { type: 'worker.spawned', workerId: 1, slot: 0, pid: 100 },
  'worker.online': { type: 'worker.online', workerId: 1, slot: 0, pid: 100 },
  'worker.offline': { type: 'worker.offline', workerId: 1, slot: 0, pid: 100 },
  'worker.exited': { type: 'worker.exited', workerId: 1, slot: 0, pid: 100, code: null, signal: 'SIGKILL' },
  'worker.last-words': { type: 'worker.last-words', workerId: 1, slot: 0, pid: 100, lines: ['Error: boom', '    at main (server.js:1:1)'] },
  'worker.shutdown': { type: 'worker.shutdown', workerId: 1, notify: true },
  'worker.kill': { type: 'worker.kill', workerId: 1 },
  'pool.event': { type: 'pool.event', event: 'SpawnNew', waitingFor: 'new', count: counts },
  'pool.reply': { type: 'pool.reply', requestId: 'r4', event: 'Status', waitingFor: null, count: counts },
  'deploy.settled': { type: 'deploy.settled', requestId: 'r5', running: 'new', generation: 4 },
  'cmd.history': { type: 'cmd.history', requestId: 'r11' },
  'history.list': { type: 'history.list', requestId: 'r11', current: 2, generations: [{ generation: 2, at: '2026-12-01T06:00:00.000Z', script: '/srv/releases/2/server.js', cwd: '/srv/releases/2', env: { API_KEY: 'k' }, envChanged: ['API_KEY'], workerCount: 2 }] },
  'probation.ended': { type: 'probation.ended', requestId: 'r5', generation: 4, outcome: 'failed', reason: 'worker 1 crashed 14.2 s after the deploy' },
  'cmd.rollback': { type: 'cmd.rollback', requestId: 'r12', to: null },
  'rollback.refused': { type: 'rollback.refused', requestId: 'r12', reason: 'no earlier generation to roll back to' },
  'cmd.upgrade': { type: 'cmd.upgrade', requestId: 'r13', daemonEntry: '/opt/naught-2.1/dist/bin/daemon.js' },
  'cmd.take-over': {
    type: 'cmd.take-over', release: server, generation: 3, foreground: false, fromPid: 4100,
    config: { ...server, ipcFile: '/srv/naught.ipc', pidFile: '/srv/naught.pid', log: 'naught.log', stdout: 'stdout.log', stderr: 'stderr.log', maxLogSize: 10485760, maxLogFiles: 0, trace: null, plugins: [], health: '127.0.0.1:9000', listen: ['http=127.0.0.1:8080'] },
    fds: { control: 5, listeners: [6], listenerNames: ['http'], health: 7 },
  },
  'upgrade.ready': { type: 'upgrade.ready', pid: 4300, version: '2.1.0' },
  'upgrade.handed-over': { type: 'upgrade.handed-over', fromPid: 4100 },
  'upgrade.progress': { type: 'upgrade.progress', requestId: 'r13', event: { event: 'NewOnline', waitingFor: 'new', count: counts }, line: null },
  'upgrade.ended': { type: 'upgrade.ended', requestId: 'r13', outcome: 'done', from: '2.0.0', to: '2.1.0', reason: null },
  'log.rotated': { type: 'log.rotated', stream: 'stdout', archive: '/srv/stdout-1700000000000.log.gz' },
  'notice': { type: 'notice', code: 'MASTER_DIED', message: 'the master process died' },
};

export const sampleMessages: Message[] = Object.values(byType);

/** A copy of the sample message of a type, to build an actor's inputs from. */
export const sample = <T extends MessageType>(type: T): Extract<Message, { type: T }> => structuredClone(byType[type]);
