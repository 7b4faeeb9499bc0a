// The Slack notifier, `--plugin naught/plugins/slack`: posts to a Slack incoming webhook
// when a deploy starts, is done, fails or is aborted, when a worker crash-loops and when
// the master is restarted. Bursts go out as one post; posts are at most one a second;
// a failing webhook is retried with back-off, and nothing waits for it.
import os from 'node:os';
import type { Envelope } from '../bus/messages.js';
import { definePlugin, PluginConfigError } from '../plugin.js';
import { createDeployLifecycle } from './deploy-lifecycle.js';

export interface SlackOptions {
  /** Defaults to $NAUGHT_SLACK_WEBHOOK_URL. */
  webhookUrl?: string;
  /** Defaults to $NAUGHT_SLACK_CHANNEL; the webhook's own channel when neither is set. */
  channel?: string;
  /** Defaults to $NAUGHT_SLACK_USERNAME. */
  username?: string;
  /** Starts each post; defaults to $NAUGHT_SLACK_LABEL or the host name. */
  label?: string;
  /** How long to gather a burst into one post. */
  batchMs?: number;
  /** The least time from the end of one post to the start of the next (Slack allows about one a second). */
  minIntervalMs?: number;
  /** Lines kept while the webhook fails; older ones are dropped and counted beyond this. */
  maxPendingLines?: number;
  requestTimeoutMs?: number;
}

const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const workers = (n: number) => `${n} worker${n === 1 ? '' : 's'}`;

/** The wait before the next try of a failed post: 1 s, doubling, at most 60 s. */
export function nextRetryMs(previousMs: number): number {
  return Math.min(previousMs ? previousMs * 2 : RETRY_FIRST_MS, RETRY_MAX_MS);
}

/**
 * Turns the bus story into sentences. Pure: fed envelopes in order, it returns what to say.
 * A deploy's start and end come from the lifecycle the plugins share (deploy-lifecycle.ts);
 * one that ends at Ready after an abort was asked for was aborted.
 */
export function createNarrator(): (envelope: Envelope) => string | null {
  const lifecycle = createDeployLifecycle();
  return (envelope) => {
    const { msg } = envelope;
    const step = lifecycle(envelope);
    if (step?.step === 'started') return `Deploy started: replacing ${workers(step.online)}.`;
    if (step?.step === 'ended') {
      const took = seconds(step.ms);
      if (step.event === 'Ready') {
        return step.abortRequested
          ? `Deploy aborted after ${took}: ${workers(step.online)} online on the old code.`
          : `Deploy done in ${took}: ${workers(step.online)} online.`;
      }
      return step.event === 'Shutdown'
        ? `Deploy failed after ${took}: the server shut down.`
        : `Deploy failed after ${took}: ${workers(step.online)} online on the old code.`;
    }
    switch (msg.type) {
      case 'cmd.rollback':
        return `Rollback requested${msg.to === null ? ' to the previous generation' : ` to generation ${msg.to}`}.`;
      case 'rollback.refused':
        return `Rollback refused: ${msg.reason}.`;
      case 'probation.ended':
        if (msg.outcome === 'passed') return `Probation passed: generation ${msg.generation} stays.`;
        return msg.outcome === 'failed' ? `Deploy rolled back: ${msg.reason}.` : null;
      case 'notice':
        if (msg.code === 'WORKER_BACKOFF') return `Crash loop: ${msg.message}`;
        if (msg.code === 'MASTER_DIED') return `Master restarted: ${msg.message}`;
        if (msg.code === 'WORKER_HUNG') return `Hung worker: ${msg.message}`;
        if (msg.code === 'WORKER_OVER_MEMORY') return `Memory ceiling: ${msg.message}`;
        return null;
      default:
        return null;
    }
  };
}

export default definePlugin<never, SlackOptions>({
  name: 'slack',
  publishes: [],
  create({ bus, options, log }) {
    const webhookUrl = options.webhookUrl ?? process.env.NAUGHT_SLACK_WEBHOOK_URL;
    if (!webhookUrl) throw new PluginConfigError('set NAUGHT_SLACK_WEBHOOK_URL (or the webhookUrl option) to the incoming webhook\'s URL');
    const channel = options.channel ?? process.env.NAUGHT_SLACK_CHANNEL;
    const username = options.username ?? process.env.NAUGHT_SLACK_USERNAME;
    const label = options.label ?? process.env.NAUGHT_SLACK_LABEL ?? os.hostname();
    const batchMs = options.batchMs ?? 1_000;
    const minIntervalMs = options.minIntervalMs ?? 1_000;
    const maxPending = options.maxPendingLines ?? 100;
    const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;

    const narrate = createNarrator();
    let pending: string[] = [];
    let droppedLines = 0;
    let timer: NodeJS.Timeout | null = null;
    let posting: Promise<void> | null = null;
    let lastPostAt = 0;
    let retryMs = 0;
    let stopped = false;

    bus.onAny((envelope) => {
      const line = narrate(envelope);
      if (line === null) return;
      pending.push(line);
      trimPending();
      schedule(batchMs);
    });

    /** The newest maxPending lines wait; older ones are counted as dropped. */
    function trimPending(): void {
      if (pending.length <= maxPending) return;
      droppedLines += pending.length - maxPending;
      pending = pending.slice(-maxPending);
    }

    function schedule(delayMs: number): void {
      if (timer || posting || stopped) return;
      const wait = Math.max(delayMs, lastPostAt + minIntervalMs - Date.now(), retryMs);
      timer = setTimeout(() => {
        timer = null;
        posting = post().finally(() => {
          posting = null;
          if (pending.length > 0) schedule(0);
        });
      }, wait);
    }

    async function post(): Promise<void> {
      if (pending.length === 0) return;
      const lines = pending;
      const dropped = droppedLines;
      pending = [];
      droppedLines = 0;
      const text = [`[${label}] ${lines.join('\n')}`, ...(dropped ? [`(${dropped} earlier messages were dropped while Slack was unreachable)`] : [])].join('\n');
      const body = JSON.stringify({ text, ...(channel ? { channel } : {}), ...(username ? { username } : {}) });
      try {
        const response = await fetch(webhookUrl!, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(requestTimeoutMs),
        });
        await response.arrayBuffer();
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        retryMs = 0;
      } catch (error) {
        // Put the lines back in front of any new ones and try again later.
        droppedLines += dropped;
        pending = [...lines, ...pending];
        trimPending();
        retryMs = nextRetryMs(retryMs);
        log(`posting to Slack failed (${(error as Error).message}); retrying in ${retryMs} ms`);
      } finally {
        // Counted from the end: a slow request must not let the next one arrive too soon.
        lastPostAt = Date.now();
      }
    }

    return {
      async stop() {
        // One last try for what is waiting, within the host's grace period.
        stopped = true;
        if (timer) clearTimeout(timer);
        await posting;
        if (pending.length > 0 && retryMs === 0) await post();
      },
    };
  },
});
