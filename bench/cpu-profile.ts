// BENCH_PROFILE=<dir>: a CPU profile of the operator over one phase of a bench (the burst), taken
// through the inspector protocol of the operator process, so that the rest of the run is not in it.
// Open the .cpuprofile in Chrome DevTools (Performance) or any flame-graph viewer.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The Node flag that opens the operator's inspector on `port` (loopback only). */
export const inspectFlag = (port: number) => `--inspect=127.0.0.1:${port}`;

export class CpuProfile {
  private socket?: WebSocket;
  private nextId = 1;
  private readonly waiting = new Map<number, (result: unknown) => void>();

  private constructor() {}

  /** Connects to the inspector on `port` and starts sampling. */
  static async start(port: number, intervalUs = 1000): Promise<CpuProfile> {
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      webSocketDebuggerUrl: string;
    }[];
    const url = targets[0]?.webSocketDebuggerUrl;
    if (!url) throw new Error(`no inspector target on port ${port}`);
    const profile = new CpuProfile();
    const socket = new WebSocket(url);
    profile.socket = socket;
    socket.onmessage = (m) => {
      const msg = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
      if (msg.id !== undefined) profile.waiting.get(msg.id)?.(msg.result);
    };
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    await profile.send('Profiler.enable');
    await profile.send('Profiler.setSamplingInterval', { interval: intervalUs });
    await profile.send('Profiler.start');
    return profile;
  }

  /** Stops sampling and writes `<dir>/<name>.cpuprofile`; returns its path. */
  async stop(dir: string, name: string): Promise<string> {
    const { profile } = (await this.send('Profiler.stop')) as { profile: unknown };
    this.socket?.close();
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `${name}.cpuprofile`);
    writeFileSync(path, JSON.stringify(profile));
    return path;
  }

  private send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket?.send(JSON.stringify({ id, method, params }));
    });
  }
}
