// A deploy's life, read from the bus story, for the plugins that tell it (Slack, Prometheus).
// Pure: fed envelopes in order, it says when a deploy started and when it ended, and how.
// A deploy starts at the first SpawnNew after a cmd.deploy that was not refused, and ends
// at Ready, DeployFailed or Shutdown (a stop during the deploy).
import type { Envelope, PoolEventName } from '../bus/messages.js';

export type DeployStep =
  | { step: 'started'; online: number }
  | {
    step: 'ended';
    /** The event that ended it: Ready (done, or what an abort left), DeployFailed or Shutdown. */
    event: PoolEventName;
    /** From the deploy command to the end. */
    ms: number;
    online: number;
    abortRequested: boolean;
    timedOut: boolean;
  };

export function createDeployLifecycle(): (envelope: Envelope) => DeployStep | null {
  let asked: { requestId: string; time: number } | null = null;
  let deploy: { time: number; abortRequested: boolean; timedOut: boolean } | null = null;
  return ({ msg, time }) => {
    if (msg.type === 'cmd.deploy' && !deploy) asked = { requestId: msg.requestId, time };
    else if (msg.type === 'cmd.deploy-abort' && deploy) deploy.abortRequested = true;
    else if (msg.type === 'pool.reply' && asked?.requestId === msg.requestId && msg.event.startsWith('Error')) asked = null;
    else if (msg.type === 'pool.event') {
      const { event, count } = msg;
      if (event === 'SpawnNew' && asked && !deploy) {
        deploy = { time: asked.time, abortRequested: false, timedOut: false };
        asked = null;
        return { step: 'started', online: count.online };
      }
      if (event === 'Timeout' && deploy) deploy.timedOut = true;
      else if ((event === 'Ready' || event === 'DeployFailed' || event === 'Shutdown') && deploy) {
        const { abortRequested, timedOut } = deploy;
        const ms = time - deploy.time;
        deploy = null;
        return { step: 'ended', event, ms, online: count.online, abortRequested, timedOut };
      }
    }
    return null;
  };
}
