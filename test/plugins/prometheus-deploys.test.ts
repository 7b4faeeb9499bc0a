// The exporter's reading of the bus story into deploy outcomes and durations (pure).
import t from 'tap';
import { createDeployTracker } from '../../src/plugins/prometheus.js';
import type { Counts, Envelope, Message, PoolEventName } from '../../src/bus/messages.js';

const count: Counts = { booting: 1, online: 1, dying: 0, new_online: 0 };
const at = (msg: Message, time = 0): Envelope => ({ seq: 0, time, sender: 'x', msg });
const event = (name: PoolEventName, time = 0) => at({ type: 'pool.event', event: name, waitingFor: null, count }, time);
const deploy = (requestId: string, time = 0) => at({ type: 'cmd.deploy', requestId, workerCount: 0, env: null, cwd: null, timeoutMs: null }, time);
const outcomes = (story: Envelope[]) => {
  const track = createDeployTracker();
  return story.map(track).filter((ended) => ended !== null);
};

t.test('done, failed, aborted and timed out, with the time from the command', async (t) => {
  t.same(outcomes([event('SpawnNew'), deploy('a', 1000), event('SpawnNew', 1010), event('Ready', 3500)]), [{ outcome: 'done', seconds: 2.5 }], 'a resuscitation is no deploy');
  t.same(outcomes([deploy('a'), event('SpawnNew'), event('DeployFailed', 1000)]), [{ outcome: 'failed', seconds: 1 }]);
  t.same(outcomes([deploy('a'), event('SpawnNew'), at({ type: 'cmd.deploy-abort', requestId: 'b' }), event('Ready', 500)]), [{ outcome: 'aborted', seconds: 0.5 }]);
  t.same(outcomes([deploy('a'), event('SpawnNew'), event('Timeout'), event('DeployFailed', 2000)]), [{ outcome: 'timed_out', seconds: 2 }]);
});

t.test('a refused deploy is not counted; the one under way is', async (t) => {
  t.same(outcomes([
    deploy('a', 0), event('SpawnNew'), deploy('b', 100),
    at({ type: 'pool.reply', requestId: 'b', event: 'ErrorDeployInProgress', waitingFor: 'new', count }),
    event('Ready', 4000), event('SpawnNew'), event('Ready', 5000),
  ]), [{ outcome: 'done', seconds: 4 }]);
});
