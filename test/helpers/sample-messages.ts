import type { Message, MessageType } from '../../src/bus/messages.js';

const counts = { booting: 1, online: 2, dying: 0, new_online: 0 };
const server = { script: '/srv/app.js', args: ['--port', '80'], workerCount: 2, cwd: '/srv', nodeArgs: ['--max-old-space-size=256'], env: { A: '1' }, drain: 'auto' as const, drainRecentMs: 1000, bootTimeoutMs: null };

// One message of every type; the Record makes the compiler insist on all of them.
const byType: { [T in MessageType]: Extract<Message, { type: T }> } = {
  'link.hello': { type: 'link.hello', name: 'cli', wants: ['pool.event'] },
  'link.ping': { type: 'link.ping', n: 1 },
  'link.pong': { type: 'link.pong', n: 1 },
  'plugin.ready': { type: 'plugin.ready', name: 'slack', publishes: ['cmd.deploy'] },
  'plugin.list': { type: 'plugin.list', requestId: 'r4', plugins: [{ module: 'naught/plugins/slack', name: 'slack', state: 'running', pid: 7, restarts: 0 }] },
  'cmd.start': { type: 'cmd.start', config: { ...server, ipcFile: '/srv/naught.ipc', pidFile: '/srv/naught.pid', log: 'naught.log', stdout: 'stdout.log', stderr: 'stderr.log', maxLogSize: 10485760, maxLogFiles: 0, trace: null, plugins: [{ module: './p.mjs', file: '/srv/p.mjs', options: { a: 1 } }] } },
  'cmd.boot': { type: 'cmd.boot', config: server, firstBoot: true, output: { stdout: 'pipe', stderr: 'ignore' } },
  'cmd.reopen-logs': { type: 'cmd.reopen-logs', requestId: 'r5' },
  'logs.reopened': { type: 'logs.reopened', requestId: 'r5' },
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
  'deploy.settled': { type: 'deploy.settled', requestId: 'r5', running: 'new' },
  'log.rotated': { type: 'log.rotated', stream: 'stdout', archive: '/srv/stdout-1700000000000.log.gz' },
  'notice': { type: 'notice', code: 'MASTER_DIED', message: 'the master process died' },
};

export const sampleMessages: Message[] = Object.values(byType);
