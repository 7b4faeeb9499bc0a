// The addresses `start --health` and `start --listen` take, parsed without loading what
// serves them: the command line stays quick for every other command.

export type HealthAddress = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/** `127.0.0.1:9000`, `[::1]:9000` or `unix:/run/app/health.sock`; null if it is neither. */
export function healthAddress(value: string): HealthAddress | null {
  if (value.startsWith('unix:')) return value.length > 5 ? { kind: 'unix', path: value.slice(5) } : null;
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) return null;
  return { kind: 'tcp', host: match[1]!, port: Number(match[2]) };
}

export type ListenSpec = { name: string; kind: 'tcp'; host: string; port: number } | { name: string; kind: 'unix'; path: string };

/** `[name=]host:port`, `[name=]:port` (every address) or `[name=]unix:/path`; null if it is none of them. */
export function listenSpec(value: string, index: number): ListenSpec | null {
  const named = /^([A-Za-z0-9_.-]+)=(.*)$/.exec(value);
  const name = named ? named[1]! : `listen${index}`;
  const address = named ? named[2]! : value;
  if (address.startsWith('unix:')) return address.length > 5 ? { name, kind: 'unix', path: address.slice(5) } : null;
  const match = /^\[?([^\]]*?)\]?:(\d{1,5})$/.exec(address);
  if (!match || Number(match[2]) > 65535) return null;
  return { name, kind: 'tcp', host: match[1] || '0.0.0.0', port: Number(match[2]) };
}
