// naught's own version, from its package.json: `naught version` and the status report.
import { readFileSync } from 'node:fs';

/** Read when asked: the CLI pays for it only in `naught version`. */
export const packageVersion = (): string =>
  (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
