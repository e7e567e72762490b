// The pull's work list: at most `limit` tasks at once, metadata before content (dirtrees reveal
// more work, content only bytes), and the first failure stops everything still waiting.
export class TaskQueue {
  private high: (() => Promise<void>)[] = [];
  private low: (() => Promise<void>)[] = [];
  private running = 0;
  private failure: { error: unknown } | null = null;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(private readonly limit: number) {}

  push(task: () => Promise<void>, priority: "high" | "low"): void {
    if (this.failure) return;
    (priority === "high" ? this.high : this.low).push(task);
    this.pump();
  }

  /** Resolves once every task (including those tasks push) has finished; rejects on the first failure. */
  drain(): Promise<void> {
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.running === 0 && !this.high.length && !this.low.length) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  private pump(): void {
    while (!this.failure && this.running < this.limit) {
      const task = this.high.shift() ?? this.low.shift();
      if (!task) break;
      this.running++;
      task().then(
        () => {
          this.running--;
          this.pump();
          this.settle();
        },
        (e: unknown) => {
          this.running--;
          this.failure ??= { error: e };
          this.high = [];
          this.low = [];
          this.settle();
        },
      );
    }
  }

  private settle(): void {
    if (this.running > 0) return;
    if (!this.failure && (this.high.length || this.low.length)) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) this.failure ? w.reject(this.failure.error) : w.resolve();
  }
}
