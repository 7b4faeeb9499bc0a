// `start --env-file FILE`: a dotenv file, parsed with Node's util.parseEnv, laid over the
// master's environment (which its workers inherit) at every boot and every deploy, read
// afresh each time. A name taken out of the file is gone after the next deploy, or has
// again the value it had before the file set it; a deploy that fails or is aborted puts
// the last release's file values back with the rest of its environment.
import fs from 'node:fs';
import { parseEnv } from 'node:util';

export function readEnvFile(file: string): Record<string, string> {
  const parsed = parseEnv(fs.readFileSync(file, 'utf8'));
  return Object.fromEntries(Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined));
}

export class EnvFileLayer {
  /** The names the file set, each with the value it had before (undefined: it had none). */
  private shadowed = new Map<string, string | undefined>();

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  /** Takes the file's values off. */
  lift(): void {
    for (const [name, value] of this.shadowed) {
      if (value === undefined) delete this.env[name];
      else this.env[name] = value;
    }
    this.shadowed.clear();
  }

  /** Lays a file's values over the environment as it is now. */
  lay(vars: Record<string, string>): void {
    for (const [name, value] of Object.entries(vars)) {
      this.shadowed.set(name, this.env[name]);
      this.env[name] = value;
    }
  }

  /** What restore() needs to undo a lay that a failed deploy made. */
  save(): Map<string, string | undefined> {
    return new Map(this.shadowed);
  }

  restore(saved: Map<string, string | undefined>): void {
    this.shadowed = new Map(saved);
  }
}
