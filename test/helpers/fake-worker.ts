// A cluster worker as the master's actors see it, without a process: what it was sent,
// whether it was disconnected or killed, and its messages and exit on demand.
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:cluster';

export class FakeWorker extends EventEmitter {
  readonly sent: unknown[] = [];
  connected = true;
  killedWith: string | null = null;
  readonly process: { pid: number; kill: (signal: string) => void };

  constructor(pid: number) {
    super();
    this.process = { pid, kill: (signal) => { this.killedWith = signal; } };
  }

  isConnected(): boolean { return this.connected; }
  send(message: unknown): boolean { this.sent.push(message); return true; }
  disconnect(): void { this.connected = false; }
  says(message: unknown): void { this.emit('message', message); }
  exits(code: number | null, signal: string | null = null): void { this.connected = false; this.emit('exit', code, signal); }
  get asWorker(): Worker { return this as unknown as Worker; }
}
