import t, { type Test } from 'tap';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixture } from '../helpers/paths.js';
import { bootLines, descendants, freePort, lines, readText, Sandbox, waitFor } from '../helpers/naught.js';

interface Post { method: string; url: string; contentType: string; body: Record<string, unknown>; at: number }

/** Stands in for Slack on 127.0.0.1; `answer` decides each request's fate by its number. */
async function fakeSlack(t: Test, answer: (n: number) => number | 'hang' = () => 200) {
  const posts: Post[] = [];
  const delivered: Post[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => { raw += d; });
    req.on('end', () => {
      const post = { method: req.method!, url: req.url!, contentType: req.headers['content-type'] ?? '', body: JSON.parse(raw) as Record<string, unknown>, at: Date.now() };
      posts.push(post);
      const fate = answer(posts.length);
      if (fate === 'hang') return void hanging.push(res);
      if (fate === 200) delivered.push(post);
      res.writeHead(fate).end(fate === 200 ? 'ok' : 'error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    server.close(() => resolve());
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, posts, delivered };
}

async function withSlack(t: Test, url: string, options: object, release = 'hello-server.cjs') {
  const box = new Sandbox(t);
  const port = await freePort();
  fs.symlinkSync(fixture(release), box.path('server.cjs'));
  const start = await box.naught(['start', '--plugin', `naught/plugins/slack=${JSON.stringify({ label: 'test', ...options })}`, 'server.cjs'], {
    PORT: String(port), NAUGHT_SLACK_WEBHOOK_URL: url, NAUGHT_SLACK_CHANNEL: '#deploys', NAUGHT_SLACK_USERNAME: 'naught',
  });
  t.same(start, { code: 0, stdout: 'workers online: 1\n', stderr: lines(...bootLines(1)) });
  t.teardown(() => box.naught(['stop', '--timeout', '1']));
  await waitFor('the plugin to be running', async () => (await box.naught(['status'])).stdout.includes('plugin slack (naught/plugins/slack): running'));
  return { box };
}

const keys = (post: Post) => Object.keys(post.body).sort();

t.test('a deploy is one post of the incoming-webhook JSON; a failed deploy another', async (t) => {
  const slack = await fakeSlack(t);
  const { box } = await withSlack(t, slack.url, { batchMs: 1500 });
  t.equal((await box.naught(['deploy'])).code, 0);
  await waitFor('the post', () => slack.posts.length === 1);
  const [post] = slack.posts;
  t.same([post!.method, post!.url, post!.contentType], ['POST', '/hook', 'application/json']);
  t.same(keys(post!), ['channel', 'text', 'username']);
  t.same({ ...post!.body, text: '' }, { text: '', channel: '#deploys', username: 'naught' });
  t.match(post!.body.text, /^\[test\] Deploy started: replacing 1 worker\.\nDeploy done in \d+\.\d s: 1 worker online\.$/);

  fs.rmSync(box.path('server.cjs'));
  fs.symlinkSync(fixture('never-online.cjs'), box.path('server.cjs'));
  t.equal((await box.naught(['deploy', '--timeout', '0.5'])).code, 1);
  await waitFor('the second post', () => slack.posts.length === 2);
  t.match(slack.posts[1]!.body.text, /^\[test\] Deploy started: replacing 1 worker\.\nDeploy failed after 0\.\d s: 1 worker online on the old code\.$/);
});

t.test('a hanging then failing webhook is retried with back-off; the lines arrive once; nothing waits', async (t) => {
  const slack = await fakeSlack(t, (n) => (n === 1 ? 'hang' : n === 2 ? 500 : 200));
  const { box } = await withSlack(t, slack.url, { batchMs: 1500, requestTimeoutMs: 500 });
  t.equal((await box.naught(['deploy'])).code, 0);
  await waitFor('the first post to be hanging', () => slack.posts.length === 1);
  // While Slack hangs, the supervisor carries on.
  t.equal((await box.naught(['deploy'])).code, 0, 'a deploy during the hang');
  t.match(await box.naught(['status']), { code: 0, stdout: /^workers online: 1\nplugin slack \(naught\/plugins\/slack\): running, pid \d+, restarts 0\n$/, stderr: '' });
  await waitFor('a delivery', () => slack.delivered.length >= 1, 15_000);
  const log = readText(box.path('naught.log'));
  t.match(log, /^\[slack\] posting to Slack failed \(.*(aborted|timeout).*\); retrying in 1000 ms$/im, 'the timeout is logged');
  t.match(log, /^\[slack\] posting to Slack failed \(HTTP 500\); retrying in 2000 ms$/m, 'then the 500, with a longer wait');
  await waitFor('both deploys delivered', () => slack.delivered.map((p) => p.body.text).join('\n').split('Deploy done').length === 3, 15_000);
  const text = slack.delivered.map((p) => p.body.text as string).join('\n');
  t.equal(text.split('Deploy started').length, 3, 'each line once');
  const first = slack.posts[0]!.body.text as string;
  t.ok((slack.delivered[0]!.body.text as string).startsWith(first), 'the retry carries the failed post\'s lines first');
});

t.test('nothing else ever waits for Slack: deploys and status while a post hangs for good', async (t) => {
  const slack = await fakeSlack(t, () => 'hang');
  const { box } = await withSlack(t, slack.url, { batchMs: 100, requestTimeoutMs: 600_000 });
  t.equal((await box.naught(['deploy'])).code, 0);
  await waitFor('the post to be hanging', () => slack.posts.length === 1);
  for (let i = 0; i < 3; i++) {
    // Each would hang with the post (until the run's 30 s limit: code null) if anything waited on it.
    t.equal((await box.naught(['deploy'])).code, 0, `deploy ${i + 2} while the post hangs`);
    t.equal((await box.naught(['status'])).code, 0, 'status while the post hangs');
  }
  t.equal(slack.posts.length, 1, 'the one post still hangs: none of that waited for it');
  t.equal(slack.delivered.length, 0);
});

t.test('a master restart is posted; a missing webhook URL stops the plugin once', async (t) => {
  const slack = await fakeSlack(t);
  const { box } = await withSlack(t, slack.url, { batchMs: 200 });
  const daemon = box.daemonPid()!;
  const [master] = descendants(daemon).filter((pid) => readText(`/proc/${pid}/cmdline`).includes('bin/master.js'));
  process.kill(master!, 'SIGKILL');
  await waitFor('the post', () => slack.posts.length >= 1);
  t.equal(slack.posts[0]!.body.text, `[test] Master restarted: The master process ${master} died (signal SIGKILL); starting a new master.`);

  const bare = new Sandbox(t);
  const run = await bare.naught(['start', '--plugin', 'naught/plugins/slack', fixture('hello-server.cjs')], { PORT: String(await freePort()), NAUGHT_SLACK_WEBHOOK_URL: '' });
  t.teardown(() => bare.naught(['stop', '--timeout', '1']));
  t.equal(run.code, 0, 'the server runs without its notifier');
  await waitFor('the plugin to give up', async () => (await bare.naught(['status'])).stdout.includes('plugin naught/plugins/slack: failed, restarts 0'));
  t.match(readText(bare.path('naught.log')), /^The plugin slack cannot run as configured: set NAUGHT_SLACK_WEBHOOK_URL \(or the webhookUrl option\) to the incoming webhook's URL$/m);
});

t.test('posts are at least minIntervalMs apart, however fast the lines come', async (t) => {
  const slack = await fakeSlack(t);
  const { box } = await withSlack(t, slack.url, { batchMs: 1000, minIntervalMs: 3000 });
  t.equal((await box.naught(['deploy'])).code, 0);
  await waitFor('the first post', () => slack.posts.length === 1);
  t.equal((await box.naught(['deploy'])).code, 0);
  await waitFor('the second post', () => slack.posts.length === 2, 15_000);
  const gap = slack.posts[1]!.at - slack.posts[0]!.at;
  t.ok(gap >= 3000, `the second post waited for the interval (${gap} ms after the first)`);
  t.match(slack.posts[1]!.body.text, /^\[test\] Deploy started: replacing 1 worker\.\nDeploy done in \d+\.\d s: 1 worker online\.$/, 'and carries the second deploy whole');
});

t.test('while Slack is down only the newest maxPendingLines wait; the rest are counted, not kept', async (t) => {
  let down = true;
  const slack = await fakeSlack(t, () => (down ? 500 : 200));
  const { box } = await withSlack(t, slack.url, { batchMs: 0, minIntervalMs: 0, maxPendingLines: 3 });
  for (let i = 0; i < 3; i++) t.equal((await box.naught(['deploy'])).code, 0, `deploy ${i + 1} while Slack is down`);
  await waitFor('a failed post', () => slack.posts.length >= 1);
  down = false;
  await waitFor('a delivery', () => slack.delivered.length >= 1, 15_000);
  const text = slack.delivered[0]!.body.text as string;
  const [first, ...rest] = text.split('\n');
  t.match(first, /^\[test\] /, 'one post');
  const kept = [first!.replace(/^\[test\] /, ''), ...rest.slice(0, -1)];
  t.equal(kept.length, 3, 'three lines kept');
  t.match(kept.at(-1), /^Deploy done in \d+\.\d s: 1 worker online\.$/, 'the newest line last');
  t.match(rest.at(-1), /^\(3 earlier messages were dropped while Slack was unreachable\)$/, 'six lines in all: three dropped, and said so');
});

t.test("a deploy followed at once by stop still reaches the webhook, as the notifier's final post", async (t) => {
  const slack = await fakeSlack(t);
  const { box } = await withSlack(t, slack.url, { batchMs: 5000 });
  t.equal((await box.naught(['deploy'])).code, 0);
  t.equal(slack.posts.length, 0, 'the batch still waits');
  t.equal((await box.naught(['stop'])).code, 0);
  t.equal(slack.posts.length, 1, 'posted before stop returned');
  t.match(slack.posts[0]!.body.text, /^\[test\] Deploy started: replacing 1 worker\.\nDeploy done in \d+\.\d s: 1 worker online\.$/);
});
