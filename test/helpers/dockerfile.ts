// A Dockerfile, built as far as these machines can without pulling an image: each stage's
// filesystem is a fresh folder holding exactly the files its COPY lines name (so a file a
// build needs and the Dockerfile forgot fails here as in docker), its RUN lines run there in
// order with the Node line of its base image (`node:<line>-slim`, fetched like the matrix's),
// and its CMD is what the test starts. Only what our Dockerfiles use is understood:
// ARG, FROM … [AS name], WORKDIR, ENV k=v…, COPY [--from=stage] src… dest, RUN (shell form),
// CMD (exec form), EXPOSE and STOPSIGNAL; anything else throws.
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { nodeBinary } from './node-lines.js';

const run = promisify(execFile);

export interface BuiltImage {
  /** The last stage's filesystem, as a folder. */
  root: string;
  workdir: string;
  env: Record<string, string>;
  cmd: string[];
  /** The Node line of the base image, and its binary. */
  nodeLine: string;
  node: string;
}

interface Stage { name: string | null; root: string; workdir: string; env: Record<string, string>; cmd: string[]; nodeLine: string; node: string }

/** The Dockerfile's instructions, continuation lines joined and comments dropped. */
export function instructions(text: string): { keyword: string; rest: string }[] {
  return text.replace(/\\\n/g, ' ').split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword, ...rest] = line.split(/\s+/);
      return { keyword: keyword!.toUpperCase(), rest: rest.join(' ') };
    });
}

const substitute = (text: string, args: Record<string, string>) => text.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => args[a ?? b] ?? '');

/**
 * Builds `dockerfile` with `context` as the build context, in `into` (a folder per stage).
 * `log` gets each step, and a failing RUN throws with its output.
 */
export async function buildImage(dockerfile: string, context: string, into: string, log: (line: string) => void = () => {}): Promise<BuiltImage> {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  let stage: Stage | null = null;
  const inStage = (p: string) => path.join(stage!.root, path.isAbsolute(p) ? p : path.join(stage!.workdir, p));
  for (const { keyword, rest: raw } of instructions(fs.readFileSync(dockerfile, 'utf8'))) {
    const rest = substitute(raw, { ...args, ...stage?.env });
    if (keyword === 'ARG') {
      const [name, value = ''] = raw.split('=');
      if (!(name! in args)) args[name!] = value;
    } else if (keyword === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const line = /^node:(\d+)(?:-slim)?$/.exec(image!)?.[1];
      if (!line) throw new Error(`${dockerfile}: base image ${image} is not node:<line>-slim`);
      const root = path.join(into, `stage-${stages.length}`);
      fs.mkdirSync(root, { recursive: true });
      stage = { name: as?.toUpperCase() === 'AS' ? name! : null, root, workdir: '/', env: {}, cmd: [], nodeLine: line, node: nodeBinary(line) };
      stages.push(stage);
      log(`FROM ${image}: Node ${line}`);
    } else if (!stage) {
      throw new Error(`${dockerfile}: ${keyword} before FROM`);
    } else if (keyword === 'WORKDIR') {
      stage.workdir = path.resolve(stage.workdir, rest);
      fs.mkdirSync(path.join(stage.root, stage.workdir), { recursive: true });
    } else if (keyword === 'ENV') {
      for (const pair of rest.split(/\s+/)) {
        const [name, ...value] = pair.split('=');
        stage.env[name!] = value.join('=');
      }
    } else if (keyword === 'COPY') {
      const words = rest.split(/\s+/);
      const from = words[0]!.startsWith('--from=') ? words.shift()!.slice('--from='.length) : null;
      const dest = words.pop()!;
      const source = from === null ? context : stages.find((s) => s.name === from)?.root;
      if (source === undefined) throw new Error(`${dockerfile}: COPY --from=${from}: no such stage`);
      for (const word of words) {
        const src = path.join(source, word);
        const target = dest.endsWith('/') || words.length > 1 ? path.join(inStage(dest), path.basename(word)) : inStage(dest);
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.cpSync(src, target, { recursive: true });
      }
      log(`COPY ${rest}`);
    } else if (keyword === 'RUN') {
      log(`RUN ${rest}`);
      await run('sh', ['-c', rest], {
        cwd: path.join(stage.root, stage.workdir), maxBuffer: 64 * 1024 * 1024,
        // The image's node first on PATH (npm's `#!/usr/bin/env node` too); npm reads the host's cache first.
        env: { ...process.env, ...stage.env, PATH: `${path.dirname(stage.node)}:${process.env.PATH}`, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' },
      }).catch((error: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`RUN ${rest} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
      });
    } else if (keyword === 'CMD') {
      stage.cmd = JSON.parse(rest) as string[];
    } else if (keyword !== 'EXPOSE' && keyword !== 'STOPSIGNAL') {
      throw new Error(`${dockerfile}: ${keyword} is not understood here`);
    }
  }
  if (!stage) throw new Error(`${dockerfile}: no FROM`);
  return { root: stage.root, workdir: stage.workdir, env: stage.env, cmd: stage.cmd, nodeLine: stage.nodeLine, node: stage.node };
}
