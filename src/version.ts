// naught's own version, from its package.json: `naught version` and the status report.
import { readFileSync } from 'node:fs';

/**
 * Read when asked: the CLI pays for it only in `naught version`. The nearest naught
 * package.json above this module, which a bundle (dist/src/bin) has one level further up.
 */
export function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'naught') return pkg.version;
    } catch {
      // not here: one level up
    }
  }
  throw new Error("naught's package.json is not where it was installed");
}
