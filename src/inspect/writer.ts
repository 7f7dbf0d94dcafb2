// inspect's output: buffered, and respecting a stream's back-pressure, so that `inspect BIG.log |
// less` neither floods memory nor writes a line at a time.
import type { LogSink } from '../log/write.ts';

/** A buffered writer that respects a stream's back-pressure (`write` false → wait for `drain`). */
export class Writer {
  private buf = '';
  private readonly sink: LogSink;
  constructor(sink: LogSink) {
    this.sink = sink;
  }
  async write(s: string): Promise<void> {
    this.buf += s;
    if (this.buf.length >= 1 << 16) await this.flush();
  }
  async flush(): Promise<void> {
    if (this.buf === '') return;
    const s = this.buf;
    this.buf = '';
    const ok = this.sink.write(s);
    const ee = this.sink as Partial<NodeJS.WritableStream>;
    if (ok === false && typeof ee.once === 'function') {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          ee.off?.('drain', done);
          ee.off?.('error', done);
          ee.off?.('close', done);
          resolve();
        };
        ee.once!('drain', done);
        ee.once!('error', done);
        ee.once!('close', done);
      });
    }
  }
}
