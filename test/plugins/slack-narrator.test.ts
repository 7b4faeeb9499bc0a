import t from 'tap';
import { createNarrator, nextRetryMs } from '../../src/plugins/slack.js';
import type { Counts, Envelope, Message, PoolEventName } from '../../src/bus/messages.js';

const counts = (online: number, booting = 0): Counts => ({ booting, online, dying: 0, new_online: 0 });
let clock = 0;
const at = (msg: Message, time = clock): Envelope => ({ seq: 0, time, sender: 'x', msg });
const event = (name: PoolEventName, count: Counts, time?: number) => at({ type: 'pool.event', event: name, waitingFor: null, count }, time);
const deploy = (requestId: string, time?: number) => at({ type: 'cmd.deploy', requestId, workerCount: 0, env: null, cwd: null, timeoutMs: null }, time);

function story(envelopes: Envelope[]): string[] {
  const narrate = createNarrator();
  return envelopes.map(narrate).filter((line): line is string => line !== null);
}

t.test('a deploy: started at the first SpawnNew, done at Ready with its duration', async (t) => {
  t.same(story([
    event('SpawnNew', counts(2, 1)), // a resuscitation: no deploy asked for
    deploy('r1', 1000), event('SpawnNew', counts(2, 1), 1010), event('SpawnNew', counts(2, 2), 1011),
    event('Ready', counts(2), 2234),
  ]), ['Deploy started: replacing 2 workers.', 'Deploy done in 1.2 s: 2 workers online.']);
});

t.test('failed, aborted, refused and shut-down deploys', async (t) => {
  t.same(story([deploy('r1', 0), event('SpawnNew', counts(1, 1)), event('Timeout', counts(1, 1)), event('DeployFailed', counts(1), 3000)]),
    ['Deploy started: replacing 1 worker.', 'Deploy failed after 3.0 s: 1 worker online on the old code.']);
  t.same(story([deploy('r1', 0), event('SpawnNew', counts(1, 1)), at({ type: 'cmd.deploy-abort', requestId: 'a' }), event('Ready', counts(1), 500)]),
    ['Deploy started: replacing 1 worker.', 'Deploy aborted after 0.5 s: 1 worker online on the old code.']);
  t.same(story([
    deploy('r1', 0), event('SpawnNew', counts(1, 1)),
    deploy('r2', 10), at({ type: 'pool.reply', requestId: 'r2', event: 'ErrorDeployInProgress', waitingFor: 'new', count: counts(1, 1) }),
    event('Ready', counts(1), 100),
  ]), ['Deploy started: replacing 1 worker.', 'Deploy done in 0.1 s: 1 worker online.'], 'a refused second deploy says nothing');
  t.same(story([deploy('r1', 0), event('SpawnNew', counts(1, 1)), event('Shutdown', counts(0), 100)]),
    ['Deploy started: replacing 1 worker.', 'Deploy failed after 0.1 s: the server shut down.']);
});

t.test('crash loops and master restarts', async (t) => {
  t.same(story([
    at({ type: 'notice', code: 'WORKER_BACKOFF', message: 'Worker 0 crashed 3 times in a row; restarting it in 200 ms.' }),
    at({ type: 'notice', code: 'MASTER_DIED', message: 'The master process 9 died (signal SIGKILL); starting a new master.' }),
    at({ type: 'notice', code: 'LOG_REOPENED', message: 'ignored' }),
  ]), [
    'Crash loop: Worker 0 crashed 3 times in a row; restarting it in 200 ms.',
    'Master restarted: The master process 9 died (signal SIGKILL); starting a new master.',
  ]);
});

t.test('a failing webhook is tried again after 1 s, doubling, capped at 60 s', async (t) => {
  const waits: number[] = [];
  for (let ms = 0, i = 0; i < 9; i++) waits.push(ms = nextRetryMs(ms));
  t.same(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  t.equal(nextRetryMs(0), 1000, 'after a success the wait starts again at 1 s');
});

t.test('watchdog replacements are narrated', async (t) => {
  t.same(story([
    at({ type: 'notice', code: 'WORKER_HUNG', message: 'Worker 1 (pid 4242) stopped answering for 30 s; replacing it.' }),
    at({ type: 'notice', code: 'WORKER_OVER_MEMORY', message: 'Worker 0 (pid 4243) holds 600 MiB, over --max-worker-memory 512 MiB; replacing it, without downtime.' }),
  ]), [
    'Hung worker: Worker 1 (pid 4242) stopped answering for 30 s; replacing it.',
    'Memory ceiling: Worker 0 (pid 4243) holds 600 MiB, over --max-worker-memory 512 MiB; replacing it, without downtime.',
  ]);
});

t.test('probation results are narrated', async (t) => {
  const ended = (outcome: 'passed' | 'failed' | 'ended', reason: string | null) => at({ type: 'probation.ended', requestId: 'd', generation: 4, outcome, reason });
  t.same(story([ended('passed', null), ended('failed', 'worker 1 crashed 14.2 s after the deploy'), ended('ended', 'naught is stopping')]),
    ['Probation passed: generation 4 stays.', 'Deploy rolled back: worker 1 crashed 14.2 s after the deploy.']);
});

t.test('rollbacks are narrated', async (t) => {
  t.same(story([
    at({ type: 'cmd.rollback', requestId: 'r', to: null }), at({ type: 'cmd.rollback', requestId: 's', to: 3 }),
    at({ type: 'rollback.refused', requestId: 's', reason: "generation 3's release is gone: /srv/releases/3 does not exist" }),
  ]), ['Rollback requested to the previous generation.', 'Rollback requested to generation 3.', "Rollback refused: generation 3's release is gone: /srv/releases/3 does not exist."]);
});
