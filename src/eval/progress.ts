/**
 * Progress of a long evaluation: a redrawn bar with rate and ETA on a TTY, and plain lines (about every 10%
 * and at the end) otherwise, so that logs of CI or `| tee` stay readable.
 */
export interface ProgressSink {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    r = s % 60;
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export class Progress {
  private done = 0;
  private readonly start: number;
  private lastDraw = 0;
  private lastDecile = -1;
  private finished = false;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly unit = 'items',
    private readonly out: ProgressSink = process.stderr,
    private readonly now: () => number = Date.now,
  ) {
    this.start = now();
  }

  get count(): number {
    return this.done;
  }

  tick(n = 1): void {
    this.done = Math.min(this.total, this.done + n);
    const t = this.now();
    if (this.out.isTTY) {
      if (t - this.lastDraw >= 100 || this.done === this.total) {
        this.lastDraw = t;
        this.out.write('\r' + this.line());
      }
    } else {
      const decile = this.total ? Math.floor((10 * this.done) / this.total) : 10;
      if (decile > this.lastDecile && this.done < this.total) {
        this.lastDecile = decile;
        this.out.write(this.line() + '\n');
      }
    }
  }

  /** Final line (always printed once). */
  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.out.write((this.out.isTTY ? '\r' : '') + this.line() + (this.out.isTTY ? '\x1b[K' : '') + '\n');
  }

  line(): string {
    const elapsed = Math.max(1e-3, (this.now() - this.start) / 1000);
    const rate = this.done / elapsed;
    const eta = rate > 0 ? (this.total - this.done) / rate : NaN;
    const pct = this.total ? this.done / this.total : 1;
    const stats =
      `${this.done}/${this.total} ${this.unit}  ${rate.toFixed(1)} ${this.unit}/s  ` +
      (this.done >= this.total ? `in ${formatDuration(elapsed)}` : `ETA ${formatDuration(eta)}`);
    if (!this.out.isTTY) return `${this.label}: ${(pct * 100).toFixed(0)}%  ${stats}`;
    const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - this.label.length - stats.length - 10));
    const fill = Math.round(pct * width);
    return `${this.label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(pct * 100).toFixed(0).padStart(3)}%  ${stats}`;
  }
}
