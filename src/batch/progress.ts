/** Progress of a batch job on stderr: items/s, ETA, failures so far; and the end-of-job summary. */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface Summary {
  items: number;
  failed: number;
  seconds: number;
  itemsPerSecond: number;
  shardsWritten: number;
  shardsSkipped: number;
  shardsLost: number;
}

export class BatchProgress {
  private items = 0;
  private failed = 0;
  private shardsWritten = 0;
  private shardsSkipped = 0;
  private shardsLost = 0;
  private last = 0;
  private readonly t0 = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit: string,
    private readonly out: ProgressSink | null,
    private readonly everyMs = 2000,
  ) {}

  shard(result: 'written' | 'skipped' | 'lost', items: number, failed: number): void {
    if (result === 'written') this.shardsWritten++;
    else if (result === 'skipped') this.shardsSkipped++;
    else this.shardsLost++;
    this.tick(items, failed, result === 'skipped');
  }

  /** `skipped` items (finished earlier) count towards done but not towards the rate. */
  private skippedItems = 0;
  tick(items: number, failed = 0, skipped = false): void {
    this.items += items;
    this.failed += failed;
    if (skipped) this.skippedItems += items;
    const now = Date.now();
    if (this.out && (now - this.last >= this.everyMs || this.items >= this.total)) {
      this.last = now;
      this.out.write((this.out.isTTY ? '\r' : '') + this.line() + (this.out.isTTY ? '' : '\n'));
    }
  }

  private rate(): number {
    const s = (Date.now() - this.t0) / 1000;
    return s > 0 ? (this.items - this.skippedItems) / s : 0;
  }

  line(): string {
    const r = this.rate();
    const left = this.total - this.items;
    const eta = r > 0 ? `ETA ${fmtSeconds(left / r)}` : 'ETA –';
    return `${this.label}: ${this.items}/${this.total} ${this.unit}, ${r.toFixed(1)}/s, ${eta}, ${this.failed} failed`;
  }

  summary(): Summary {
    const seconds = (Date.now() - this.t0) / 1000;
    return {
      items: this.items,
      failed: this.failed,
      seconds,
      itemsPerSecond: this.rate(),
      shardsWritten: this.shardsWritten,
      shardsSkipped: this.shardsSkipped,
      shardsLost: this.shardsLost,
    };
  }
}

export function fmtSeconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s < 90) return `${s.toFixed(0)} s`;
  if (s < 5400) return `${(s / 60).toFixed(0)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}
