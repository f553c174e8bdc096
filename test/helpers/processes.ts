/** Child processes a test starts, tracked by PID so that every one of them is stopped. */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface Started {
  pid: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Sends `signal`, then SIGKILL if the process has not exited `graceMs` (default 5 s) later. */
  stop: (signal?: NodeJS.Signals, graceMs?: number) => Promise<void>;
}

const running = new Set<Started>();

export function start(command: string, args: readonly string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  let output = '';
  const limit = Number(process.env.TEST_OUTPUT_LIMIT ?? 200_000);
  // Sliced only past the limit: slicing flattens the string, which per chunk would copy the whole output each time.
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > limit) output = output.slice(-limit);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const started: Started = {
    pid: child.pid,
    child,
    output: () => output,
    exited,
    stop: async (signal = 'SIGTERM', graceMs = 5_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(started.pid, signal);
        const timer = setTimeout(
          () => child.exitCode === null && child.signalCode === null && process.kill(started.pid, 'SIGKILL'),
          graceMs,
        );
        await exited;
        clearTimeout(timer);
      }
      running.delete(started);
    },
  };
  running.add(started);
  void exited.then(() => running.delete(started));
  return started;
}

/** Stops everything still running; call it from afterAll/afterEach. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((process) => process.stop('SIGKILL')));
}
