import { performance } from 'node:perf_hooks';
import { OutputPacer } from './OutputPacer';

/** Work that takes at least `ms` of the event loop. */
const busy = (ms: number) => () => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Holding the loop, as decoding and masking a large chunk does.
  }
};

describe('OutputPacer', () => {
  it('lets output through at once while the window has budget left', () => {
    const pacer = new OutputPacer({ windowMs: 1000, budgetMs: 500 });
    const handled: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect(pacer.handle(() => handled.push(i))).toBeUndefined();
    }
    expect(handled).toHaveLength(10);
  });

  it('asks every run that prints for one pause once the budget is spent, until the next window', async () => {
    const pacer = new OutputPacer({ windowMs: 50, budgetMs: 10 });
    const started = performance.now();
    expect(pacer.handle(busy(4))).toBeUndefined();
    const first = pacer.handle(busy(8));
    const second = pacer.handle(busy(1));
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBe(first);
    await first;
    // Not before the window ended (timers may fire a millisecond early).
    expect(performance.now() - started).toBeGreaterThanOrEqual(49);
    // A new window: budget again.
    expect(pacer.handle(() => {})).toBeUndefined();
  });

  it('counts the time of work that throws, and lets the error through', () => {
    const pacer = new OutputPacer({ windowMs: 1000, budgetMs: 5 });
    expect(() =>
      pacer.handle(() => {
        busy(6)();
        throw new Error('masking failed');
      }),
    ).toThrow('masking failed');
    expect(pacer.handle(() => {})).toBeInstanceOf(Promise);
  });
});
