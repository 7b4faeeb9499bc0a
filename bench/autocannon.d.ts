// The part of autocannon's API the benchmarks use (it ships no types).
declare module 'autocannon' {
  interface Options { url: string; connections: number; duration: number; timeout: number; headers?: Record<string, string>; workers?: number }
  interface Result { errors: number; timeouts: number; non2xx: number; latency: { p50: number; p99: number }; requests: { average: number; total: number } }
  export default function autocannon(options: Options): Promise<Result>;
}
