import { performance } from 'node:perf_hooks';
import { OutputPacer } from './OutputPacer';

/**
 * A pacer on a clock of the test's own: work advances it by exactly what it
 * says it takes, however the machine schedules this process.
 */
function pacerOnTestClock(options: { windowMs: number; budgetMs: number }) {
  let now = 0;
  const pacer = new OutputPacer({ ...options, now: () => now });
  return {
    pacer,
    /** Work that takes `ms` on the pacer's clock. */
    busy: (ms: number) => () => {
      now += ms;
    },
    /** Lets `ms` pass on the pacer's clock and on the timers. */
    pass: (ms: number) => {
      now += ms;
      jest.advanceTimersByTime(ms);
    },
  };
}

/** Whether a promise has settled, once pending callbacks have run. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false;
  promise.then(() => {
    done = true;
  });
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return done;
}

describe('OutputPacer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('lets output through at once while the window has budget left', () => {
    const { pacer, busy } = pacerOnTestClock({ windowMs: 1000, budgetMs: 500 });
    const handled: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect(
        pacer.handle(() => {
          busy(10)();
          handled.push(i);
        }),
      ).toBeUndefined();
    }
    expect(handled).toHaveLength(10);
  });

  it('asks every run that prints for one pause once the budget is spent, until the next window', async () => {
    const { pacer, busy, pass } = pacerOnTestClock({
      windowMs: 50,
      budgetMs: 10,
    });
    expect(pacer.handle(busy(4))).toBeUndefined();
    const first = pacer.handle(busy(8));
    const second = pacer.handle(busy(1));
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBe(first);
    // 4 + 8 ms of the window's 50 have passed: the pause lasts the rest.
    pass(37);
    expect(await settled(first!)).toBe(false);
    pass(1);
    expect(await settled(first!)).toBe(true);
    // A new window: budget again.
    expect(pacer.handle(busy(9))).toBeUndefined();
  });

  it('counts the time of work that throws, and lets the error through', () => {
    const { pacer, busy } = pacerOnTestClock({ windowMs: 1000, budgetMs: 5 });
    expect(() =>
      pacer.handle(() => {
        busy(6)();
        throw new Error('masking failed');
      }),
    ).toThrow('masking failed');
    expect(pacer.handle(() => {})).toBeInstanceOf(Promise);
  });

  it('measures on the real clock by default', async () => {
    jest.useRealTimers();
    const pacer = new OutputPacer({ windowMs: 20, budgetMs: 5 });
    const until = performance.now() + 10;
    const pause = pacer.handle(() => {
      while (performance.now() < until) {
        // Holding the loop, as decoding and masking a large chunk does.
      }
    });
    expect(pause).toBeInstanceOf(Promise);
    await pause;
  });
});
