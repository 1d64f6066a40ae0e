// Group commit for requests that cost the same for one item as for many (a label selector over
// several objects, one scan of the API server's cache either way). Items of a group that arrive
// while its batch runs wait and share the next one; the first item of an idle group runs at once.
// A batch larger than `maxBatch` runs as several at once, no more than `maxRound` items per round.

export interface BatcherOptions {
  maxBatch: number;
  maxRound: number;
}

/** Runs one batch of a group; answers one outcome per item, in order. */
export type RunBatch<T, R> = (group: string, items: T[]) => Promise<PromiseSettledResult<R>[]>;

interface Waiting<T, R> {
  item: T;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

export class Batcher<T, R> {
  private readonly run: RunBatch<T, R>;
  private readonly opts: BatcherOptions;
  /** By group: the items waiting for the next round while one runs. */
  private readonly waiting = new Map<string, Waiting<T, R>[]>();

  constructor(run: RunBatch<T, R>, opts: BatcherOptions) {
    this.run = run;
    this.opts = opts;
  }

  add(group: string, item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      const queue = this.waiting.get(group);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      this.waiting.set(group, [{ item, resolve, reject }]);
      void this.drain(group);
    });
  }

  private async drain(group: string): Promise<void> {
    const queue = this.waiting.get(group) as Waiting<T, R>[];
    while (queue.length) {
      const round = queue.splice(0, this.opts.maxRound);
      await Promise.all(chunks(round, this.opts.maxBatch).map((batch) => this.runOne(group, batch)));
    }
    this.waiting.delete(group);
  }

  private async runOne(group: string, batch: Waiting<T, R>[]): Promise<void> {
    try {
      const outcomes = await this.run(
        group,
        batch.map((w) => w.item),
      );
      batch.forEach((w, i) => {
        const o = outcomes[i];
        if (o?.status === 'fulfilled') w.resolve(o.value);
        else w.reject(o ? o.reason : new Error('the batch answered fewer outcomes than items'));
      });
    } catch (e) {
      for (const w of batch) w.reject(e);
    }
  }
}

/** `items` in runs of at most `size`, as even as possible. */
export function chunks<T>(items: T[], size: number): T[][] {
  const count = Math.ceil(items.length / size);
  return Array.from({ length: count }, (_, i) =>
    items.slice(Math.floor((i * items.length) / count), Math.floor(((i + 1) * items.length) / count)),
  );
}
