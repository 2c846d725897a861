/**
 * Work of one lane (e.g. one API key) that arrives while another of that lane's is running waits,
 * and then goes together: `one` runs an item alone, `many` runs up to `max` waiting items at once
 * and answers each, in order. Lanes run independently; an error of a run is every item's in it.
 */
export function coalesce<A, R>(one: (item: A) => Promise<R>, many: (items: A[]) => Promise<R[]>, max: number) {
  interface Waiting {
    item: A;
    resolve: (result: R) => void;
    reject: (error: unknown) => void;
  }
  const lanes = new Map<string, Waiting[]>();

  async function run(lane: string, batch: Waiting[]) {
    try {
      const results = batch.length === 1 ? [await one(batch[0].item)] : await many(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      for (const w of batch) w.reject(error);
    }
    const waiting = lanes.get(lane)!;
    if (waiting.length === 0) lanes.delete(lane);
    else void run(lane, waiting.splice(0, max));
  }

  return (lane: string, item: A) =>
    new Promise<R>((resolve, reject) => {
      const waiting = lanes.get(lane);
      if (waiting) {
        waiting.push({ item, resolve, reject });
        return;
      }
      lanes.set(lane, []);
      void run(lane, [{ item, resolve, reject }]);
    });
}
