import t from 'tap';
import { encodeFrame, FrameDecoder, FrameEncoder, FrameError } from '../../src/bus/codec.js';
import type { Envelope, Message } from '../../src/bus/messages.js';
import { sampleMessages } from '../helpers/sample-messages.js';

const envelope = (msg: Message, seq = 1): Envelope => ({ seq, time: 1700000000000, sender: 'test', msg });
const status = envelope({ type: 'cmd.status', requestId: 'r1' });

function frameOf(body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof FrameError ? error.code : `not a FrameError: ${String(error)}`;
  }
  return undefined;
}

t.test('every message type survives a round trip, twice on one stream', async (t) => {
  const encoder = new FrameEncoder({ carrySecrets: true });
  const decoder = new FrameDecoder();
  for (const msg of [...sampleMessages, ...sampleMessages]) {
    t.same(decoder.push(encoder.encode(envelope(msg))), [envelope(msg)], msg.type);
  }
  t.equal(decoder.pendingBytes, 0);
});

t.test('a frame split into single bytes decodes once complete', async (t) => {
  const decoder = new FrameDecoder();
  const bytes = encodeFrame(status);
  for (let i = 0; i < bytes.length - 1; i++) {
    t.same(decoder.push(bytes.subarray(i, i + 1)), [], `nothing after byte ${i}`);
  }
  t.same(decoder.push(bytes.subarray(bytes.length - 1)), [status]);
});

t.test('many frames in one chunk, with a split frame at the end', async (t) => {
  const decoder = new FrameDecoder();
  const encoder = new FrameEncoder();
  const frames = Array.from({ length: 50 }, (_, i) => envelope({ type: 'cmd.status', requestId: `r${i}` }, i));
  const encoded = frames.map((frame) => encoder.encode(frame));
  const all = Buffer.concat(encoded);
  const cut = all.length - 3;
  t.same(decoder.push(all.subarray(0, cut)), frames.slice(0, 49));
  t.equal(decoder.pendingBytes, encoded[49]!.length - 3, 'all but the last 3 bytes of the last frame');
  t.ok(encoded[49]!.length < encoded[0]!.length, 'later frames refer to the shape sent in the first');
  t.same(decoder.push(all.subarray(cut)), [frames[49]]);
});

t.test('a truncated frame stays pending and is reported by pendingBytes', async (t) => {
  const decoder = new FrameDecoder();
  const bytes = encodeFrame(status);
  t.same(decoder.push(bytes.subarray(0, 6)), []);
  t.equal(decoder.pendingBytes, 6);
});

t.test('garbage bytes are rejected as not msgpack', async (t) => {
  const decoder = new FrameDecoder();
  t.equal(codeOf(() => decoder.push(frameOf(Buffer.from([0xc1, 0xc1, 0xc1])))), 'FRAME_NOT_MSGPACK');
});

t.test('a frame over the limit is rejected from its header alone', async (t) => {
  const decoder = new FrameDecoder(1024);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(1025);
  t.equal(codeOf(() => decoder.push(header)), 'FRAME_TOO_LARGE');
  t.equal(codeOf(() => new FrameDecoder().push(Buffer.from([0xff, 0xff, 0xff, 0xff]))), 'FRAME_TOO_LARGE', 'default limit is 1 MiB');
});

t.test('a message type outside the catalogue is rejected', async (t) => {
  const bad = encodeFrame({ ...status, msg: { type: 'cmd.format-disk' } as unknown as Message });
  t.equal(codeOf(() => new FrameDecoder().push(bad)), 'FRAME_UNKNOWN_TYPE');
});

t.test('msgpack that is not an envelope is rejected', async (t) => {
  const notEnvelope = encodeFrame([1, 2, 3] as unknown as Envelope);
  t.equal(codeOf(() => new FrameDecoder().push(notEnvelope)), 'FRAME_BAD_ENVELOPE');
  const noSender = encodeFrame({ seq: 1, time: 2, msg: status.msg } as unknown as Envelope);
  t.equal(codeOf(() => new FrameDecoder().push(noSender)), 'FRAME_BAD_ENVELOPE');
});

t.test('without records every frame decodes alone, and damage keeps the frames before it', async (t) => {
  const encoder = new FrameEncoder({ records: false });
  const frames = sampleMessages.map((msg, i) => encoder.encode(envelope(msg, i + 1)));
  // Any single frame, read by a fresh decoder, is whole: a rotated trace file starts anywhere.
  const last = new FrameDecoder(undefined, false).push(frames[frames.length - 1]!);
  t.same(last, [envelope(sampleMessages[sampleMessages.length - 1]!, sampleMessages.length)]);

  const garbage = frameOf(Buffer.from([0xc1, 0xc1, 0xc1]));
  const decoder = new FrameDecoder(undefined, false);
  const seen: number[] = [];
  const before = Buffer.concat(frames.slice(0, 3));
  t.equal(codeOf(() => decoder.feed(Buffer.concat([before, garbage, frames[3]!]), (e) => seen.push(e.seq))), 'FRAME_NOT_MSGPACK');
  t.same(seen, [1, 2, 3], 'the frames before the damage were handed over');
  t.equal(decoder.decodedBytes, before.length, 'and the damage is located');
});

t.test('environment values leave a process masked, unless the encoder leads toward the master', async (t) => {
  const deploy: Message = { type: 'cmd.deploy', requestId: 'r', workerCount: 0, env: { DB_URL: 'postgres://u:pw@h/db', EMPTY: '' }, cwd: null, timeoutMs: null };
  const boot: Message = {
    type: 'cmd.boot', generation: 1, startScript: '/srv/app.js', firstBoot: true, output: { stdout: 'pipe', stderr: 'pipe' },
    config: { script: '/s.js', args: [], workerCount: 1, cwd: '/', nodeArgs: [], env: { API_KEY: 'k' }, drain: 'auto', drainRecentMs: 1000, bootTimeoutMs: null, workerTimeoutMs: null, maxWorkerMemoryBytes: null, ready: 'online' },
  };
  const decode = (encoder: FrameEncoder, msg: Message) => new FrameDecoder().push(encoder.encode(envelope(msg)))[0]!.msg;
  const masked = decode(new FrameEncoder(), deploy) as Extract<Message, { type: 'cmd.deploy' }>;
  t.same(Object.keys(masked.env!), ['DB_URL', 'EMPTY'], 'the names stay');
  for (const value of Object.values(masked.env!)) t.match(value, /^‹set:[0-9a-f]{8}›$/);
  t.notOk(encodeFrame(envelope(deploy)).includes('pw@h'), 'the value is not in the bytes');
  const bootEnv = (encoder: FrameEncoder) => (decode(encoder, boot) as Extract<Message, { type: 'cmd.boot' }>).config.env.API_KEY;
  t.match(bootEnv(new FrameEncoder()), /^‹set:[0-9a-f]{8}›$/, 'cmd.boot too');
  t.equal(bootEnv(new FrameEncoder()), bootEnv(new FrameEncoder()), 'one key per process: the same mask from every encoder');
  t.same(decode(new FrameEncoder({ carrySecrets: true }), deploy), deploy, 'toward the master: as sent');
  t.same(decode(new FrameEncoder({ carrySecrets: true }), boot), boot);
  t.same(deploy.env, { DB_URL: 'postgres://u:pw@h/db', EMPTY: '' }, 'the message itself is left as it was');
  const noEnv: Message = { ...deploy, env: null } as Message;
  t.same(decode(new FrameEncoder(), noEnv), noEnv, 'a deploy without an environment is untouched');
});
