// What reading one uploaded photo costs the API (photos.ts examinePixels: SHA-256, the luma walk,
// the dHash and spread, and the words in the pixels), run under Deno as the edge function runs it.
// `npm run bench:guardian` starts it once per photo, in a fresh process, with the photo's path:
//   deno run --node-modules-dir=manual --config deno.json -A bench/guardian/photo-read.ts photo.jpg (-A: it reads /proc/self)
// It prints one JSON line: the text reader's start-up, the first read (a fresh isolate compiles the
// engine's hot code as it goes), the median of three more, and the process's peak memory.
import { examinePixels } from '../../functions/_shared/guardian/photos.ts';
import { prepareTextReader } from '../../functions/_shared/guardian/pixel-text.ts';

/** CPU milliseconds of this process's main thread (the one the edge runtime's CPU limit counts), and of all its threads. */
function cpu(): { main: number; all: number } {
  const ticks = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, at 100 ticks a second
  };
  return { main: ticks(Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/stat`)), all: ticks(Deno.readTextFileSync('/proc/self/stat')) };
}
const since = (from: { main: number; all: number }) => {
  const now = cpu();
  return { main: now.main - from.main, all: now.all - from.all };
};
const peakRssMb = () => Math.round(Number(/VmHWM:\s+(\d+)/.exec(Deno.readTextFileSync('/proc/self/status'))![1]) / 1024);

const bytes = Deno.readFileSync(Deno.args[0]);
let start = cpu();
await prepareTextReader();
const startUp = since(start);
start = cpu();
const first = await examinePixels(bytes);
const firstRead = since(start);
const warm: number[] = [];
for (let i = 0; i < 3; i++) {
  start = cpu();
  await examinePixels(bytes);
  warm.push(since(start).main);
}
const memory = Deno.memoryUsage();
console.log(JSON.stringify({
  start_up_ms: startUp.main,
  first_read_ms: firstRead.main,
  first_read_all_threads_ms: firstRead.all,
  read_ms: warm.sort((a, b) => a - b)[1],
  heap_and_external_mb: Math.round((memory.heapUsed + memory.external) / 1048576),
  peak_rss_mb: peakRssMb(),
  text: first.text,
}));
