import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopWatch, OutputPacer, watchEventLoop } from './OutputPacer';

/**
 * A pacer on a clock of the test's own: work advances it by exactly what it
 * says it takes, however the machine schedules this process.
 */
function pacerOnTestClock(
  options: { windowMs: number; budgetMs: number; maxLagMs?: number },
  /** How late the event loop runs, as the pacer is told. */
  loop: { late: number; watched: number; stopped: number } = {
    late: 0,
    watched: 0,
    stopped: 0,
  },
) {
  let now = 0;
  const pacer = new OutputPacer({
    ...options,
    now: () => now,
    watchLoop: (): LoopWatch => {
      loop.watched++;
      return {
        lateMs: () => loop.late,
        stop: () => {
          loop.stopped++;
        },
      };
    },
  });
  return {
    pacer,
    loop,
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

  it("holds every run's output between reads while the event loop runs late, longer while it stays late, and lets go once it is on time", async () => {
    const { pacer, loop, busy, pass } = pacerOnTestClock({
      windowMs: 10,
      budgetMs: 5,
    });
    expect(pacer.handle(busy(1))).toBeUndefined();
    loop.late = 50;
    const holds: number[] = [];
    for (let check = 0; check < 7; check++) {
      pass(100);
      const first = pacer.handle(busy(1));
      expect(first).toBeInstanceOf(Promise);
      // Another run's output, in the same hold: one timer for all.
      expect(pacer.handle(busy(1))).toBe(first);
      holds.push(pacer.holdMs);
      pass(pacer.holdMs - 1);
      expect(await settled(first!)).toBe(false);
      pass(1);
      expect(await settled(first!)).toBe(true);
    }
    expect(holds).toEqual([5, 10, 20, 40, 80, 160, 200]);
    // Between half the allowed lag and all of it: the hold stays.
    loop.late = 15;
    pass(100);
    pacer.handle(busy(1));
    expect(pacer.holdMs).toBe(200);
    loop.late = 2;
    const shrinking: number[] = [];
    while (pacer.holdMs > 0) {
      pass(200);
      pacer.handle(busy(1));
      shrinking.push(pacer.holdMs);
    }
    expect(shrinking.slice(0, 3)).toEqual([150, 112.5, 84.375]);
    expect(pacer.handle(busy(1))).toBeUndefined();
  });

  it('watches the loop only while output flows, and never with no lag allowed', () => {
    const { pacer, loop, busy, pass } = pacerOnTestClock({
      windowMs: 10,
      budgetMs: 5,
    });
    pacer.handle(busy(1));
    expect(loop).toMatchObject({ watched: 1, stopped: 0 });
    pass(999);
    pacer.handle(busy(1));
    pass(999);
    expect(loop).toMatchObject({ watched: 1, stopped: 0 });
    pass(1);
    expect(loop).toMatchObject({ watched: 1, stopped: 1 });
    pacer.handle(busy(1));
    expect(loop).toMatchObject({ watched: 2, stopped: 1 });
    pacer.stop();
    expect(loop).toMatchObject({ watched: 2, stopped: 2 });

    const never = pacerOnTestClock({ windowMs: 10, budgetMs: 5, maxLagMs: 0 });
    never.loop.late = 1000;
    for (let i = 0; i < 5; i++) {
      never.pass(100);
      expect(never.pacer.handle(never.busy(1))).toBeUndefined();
    }
    expect(never.loop.watched).toBe(0);
  });

  it('measures how late the event loop ran', async () => {
    jest.useRealTimers();
    const watch = watchEventLoop();
    try {
      await sleep(30);
      watch.lateMs();
      const until = performance.now() + 60;
      while (performance.now() < until) {
        // Holding the loop.
      }
      await sleep(30);
      expect(watch.lateMs()).toBeGreaterThanOrEqual(40);
    } finally {
      watch.stop();
    }
  });
});
