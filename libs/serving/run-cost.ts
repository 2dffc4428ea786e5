/**
 * What one session.run of a model version costs, as a function of its rows: a fixed part (graph dispatch, tensor
 * set-up) plus a part per row. Fitted by least squares over the runs seen so far, with exponential forgetting so
 * that recent runs count most (request sizes and machine load change). The inference pool asks it which batches
 * are cheap enough to run on the event loop (pool.ts).
 */
export class RunCostModel {
  private w = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;
  private n = 0;
  /** the most rows of any run taken so far */
  private maxRows = 0;
  private fit = { fixedMs: 0, perRowMs: 0 };

  /**
   * @param decay weight kept by the older runs at each new one (0.98: the last ~50 runs dominate)
   * @param outlierFactor once fitted, a run that took more than this many times its prediction is ignored: a
   *   thread descheduled mid-run says nothing about the model. Only within the sizes seen (up to twice the largest):
   *   a far larger run is what shows the per-row cost that small runs hardly measure, never an outlier.
   */
  constructor(
    private readonly decay = 0.98,
    private readonly outlierFactor = 10,
  ) {}

  /** runs observed (outliers excluded) */
  get samples(): number {
    return this.n;
  }

  get estimate(): { fixedMs: number; perRowMs: number } {
    return { ...this.fit };
  }

  observe(rows: number, ms: number): void {
    if (!(rows > 0) || !Number.isFinite(ms) || ms < 0) return;
    if (this.n >= 16 && rows <= 2 * this.maxRows && ms > this.outlierFactor * this.predict(rows)) return;
    this.maxRows = Math.max(this.maxRows, rows);
    const d = this.decay;
    this.w = this.w * d + 1;
    this.sx = this.sx * d + rows;
    this.sy = this.sy * d + ms;
    this.sxx = this.sxx * d + rows * rows;
    this.sxy = this.sxy * d + rows * ms;
    this.n++;
    this.refit();
  }

  private refit(): void {
    const { w, sx, sy, sxx, sxy } = this;
    const spread = w * sxx - sx * sx;
    // With (nearly) one batch size seen, the split between fixed and per-row cost is unknown: charging it all to
    // rows is the cautious choice (larger batches are predicted dearer than they will be, never cheaper).
    if (spread <= 1e-9 * w * sxx) {
      this.fit = { fixedMs: 0, perRowMs: sy / sx };
      return;
    }
    let perRowMs = (w * sxy - sx * sy) / spread;
    let fixedMs = (sy - perRowMs * sx) / w;
    if (perRowMs < 0 || fixedMs < 0) {
      // noise bent the line the impossible way; fall back to the cautious split
      perRowMs = sy / sx;
      fixedMs = 0;
    }
    this.fit = { fixedMs, perRowMs };
  }

  /** expected session.run time of a batch of `rows` rows, in ms (0 before any run was seen) */
  predict(rows: number): number {
    return this.fit.fixedMs + this.fit.perRowMs * rows;
  }

  /** the most rows a run may have and still be expected within `budgetMs` (0 when even one row is over it) */
  rowsWithin(budgetMs: number): number {
    const { fixedMs, perRowMs } = this.fit;
    if (fixedMs + perRowMs > budgetMs) return 0;
    return perRowMs > 0 ? Math.floor((budgetMs - fixedMs) / perRowMs) : Number.MAX_SAFE_INTEGER;
  }
}
