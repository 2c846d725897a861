/**
 * What a tick costs the worker, against the edge runtime's limits (memory counts ArrayBuffers,
 * CPU time is capped per request): wall time, CPU time, and the peak of heap + external memory,
 * sampled while the tick runs. Logged with each tick that did work.
 */
const SAMPLE_MS = 20;

interface Usage {
  durationMs: number;
  cpuMs: number | null;
  peakMemoryMb: number;
}

type Process = { cpuUsage?(): { user: number; system: number } };

const cpuMicros = (): number | null => {
  const usage = (globalThis as { process?: Process }).process?.cpuUsage?.();
  return usage ? usage.user + usage.system : null;
};

const memory = (): number => {
  const deno = (globalThis as { Deno?: { memoryUsage(): { heapUsed: number; external: number } } }).Deno;
  if (!deno) return 0;
  const { heapUsed, external } = deno.memoryUsage();
  return heapUsed + external;
};

/** Runs `work`, measuring it. CPU is the whole worker's, so it includes requests served meanwhile. */
export async function metered<T>(work: () => Promise<T>): Promise<{ result: T; usage: Usage }> {
  const started = performance.now();
  const cpuBefore = cpuMicros();
  let peak = memory();
  const sampler = setInterval(() => (peak = Math.max(peak, memory())), SAMPLE_MS);
  try {
    const result = await work();
    peak = Math.max(peak, memory());
    const cpuAfter = cpuMicros();
    return {
      result,
      usage: {
        durationMs: Math.round(performance.now() - started),
        cpuMs: cpuBefore !== null && cpuAfter !== null ? Math.round((cpuAfter - cpuBefore) / 1000) : null,
        peakMemoryMb: Math.round((peak / 1024 / 1024) * 10) / 10,
      },
    };
  } finally {
    clearInterval(sampler);
  }
}
