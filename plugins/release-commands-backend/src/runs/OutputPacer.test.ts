import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopWatch, OutputPacer, watchEventLoop } from './OutputPacer';

/**
 * A pacer on a clock of the test's own: work advances it by exactly what it
 * says it takes, however the machine schedules this process.
 */
function pacerOnTestClock(
  options: { windowMs: number; budgetMs: number; maxLagMs?: number },
  /**
   * How late the event loop runs, and how long ago the portal took a
   * request (just now unless a test says otherwise), as the pacer is told.
   */
  loop: {
    late: number;
    watched: number;
    stopped: number;
    sinceRequestMs?: number;
  } = {
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
    requests: { sinceLastMs: () => loop.sinceRequestMs ?? 0 },
  });
  return {
    pacer,
    loop,
    /** Work that takes `ms` on the pacer's clock. */
    busy: (ms: number) => () => {
      now += ms;
    },
    /** Lets `ms` pass on the pacer's clock and on the timers, together. */
    pass: (ms: number) => {
      for (let i = 0; i < ms; i++) {
        now += 1;
        jest.advanceTimersByTime(1);
      }
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
        }, 1),
      ).toBeUndefined();
    }
    expect(handled).toHaveLength(10);
  });

  it('asks every run that prints for one pause once the budget is spent, until the next window', async () => {
    const { pacer, busy, pass } = pacerOnTestClock({
      windowMs: 50,
      budgetMs: 10,
    });
    expect(pacer.handle(busy(4), 1)).toBeUndefined();
    const first = pacer.handle(busy(8), 1);
    const second = pacer.handle(busy(1), 1);
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBe(first);
    // 4 + 8 ms of the window's 50 have passed: the pause lasts the rest.
    pass(37);
    expect(await settled(first!)).toBe(false);
    pass(1);
    expect(await settled(first!)).toBe(true);
    // A new window: budget again.
    expect(pacer.handle(busy(9), 1)).toBeUndefined();
  });

  it('counts the time of work that throws, and lets the error through', () => {
    const { pacer, busy } = pacerOnTestClock({ windowMs: 1000, budgetMs: 5 });
    expect(() =>
      pacer.handle(() => {
        busy(6)();
        throw new Error('masking failed');
      }, 1),
    ).toThrow('masking failed');
    expect(pacer.handle(() => {}, 1)).toBeInstanceOf(Promise);
  });

  it('measures on the real clock by default', async () => {
    jest.useRealTimers();
    const pacer = new OutputPacer({ windowMs: 20, budgetMs: 5 });
    const until = performance.now() + 10;
    const pause = pacer.handle(() => {
      while (performance.now() < until) {
        // Holding the loop, as decoding and masking a large chunk does.
      }
    }, 1);
    expect(pause).toBeInstanceOf(Promise);
    await pause;
  });

  it("reads all runs' output at a limited rate while the event loop runs late, slower while it stays late, and lifts the limit once it is on time", async () => {
    const { pacer, loop, pass } = pacerOnTestClock({
      windowMs: 10,
      budgetMs: 5,
    });
    const quick = () => {};
    // 100 kB in the first 100 ms: 1000 bytes/ms came.
    expect(pacer.handle(quick, 100_000)).toBeUndefined();
    loop.late = 50;
    pass(100);
    // Late: half of what came.
    const first = pacer.handle(quick, 10_000);
    expect(pacer.rate).toBe(500);
    expect(first).toBeInstanceOf(Promise);
    // Another run's output, in the same pause: one timer for all.
    expect(pacer.handle(quick, 10_000)).toBe(first);
    // 10 kB at 500 bytes/ms take 20 ms.
    pass(19);
    expect(await settled(first!)).toBe(false);
    pass(1);
    expect(await settled(first!)).toBe(true);
    // The second run's 10 kB are owed too: the next read waits for both.
    const next = pacer.handle(quick, 10_000);
    pass(39);
    expect(await settled(next!)).toBe(false);
    pass(1);
    expect(await settled(next!)).toBe(true);
    // 30 kB came in the 100 ms since the last check: still late, half that.
    pass(40);
    pacer.handle(quick, 1_000);
    expect(pacer.rate).toBe(150);
    // Never slower than the floor.
    for (let i = 0; i < 5; i++) {
      pass(100);
      pacer.handle(quick, 1_000);
    }
    expect(pacer.rate).toBe(64);
    // Between half the allowed lag and all of it: the rate stays.
    loop.late = 15;
    pass(100);
    pacer.handle(quick, 6_400);
    expect(pacer.rate).toBe(64);
    // On time: a quarter faster at each check while the limit binds.
    loop.late = 2;
    pass(100);
    pacer.handle(quick, 6_400);
    expect(pacer.rate).toBe(80);
    // Less comes now.
    pass(100);
    pacer.handle(quick, 2_000);
    expect(pacer.rate).toBe(100);
    // Far above what comes: lifted, and output goes through at once.
    pass(100);
    expect(pacer.handle(quick, 1_000)).toBeUndefined();
    expect(pacer.rate).toBeUndefined();
    expect(pacer.handle(quick, 1_000_000)).toBeUndefined();
  });

  it('holds no output while the portal takes no request, and from the first one at the rate learnt meanwhile', async () => {
    const { pacer, loop, pass } = pacerOnTestClock({
      windowMs: 10,
      budgetMs: 5,
    });
    const quick = () => {};
    loop.sinceRequestMs = 1000;
    pacer.handle(quick, 100_000);
    loop.late = 50;
    // Late at every check: the rate falls as it would, and holds nothing.
    for (let i = 0; i < 3; i++) {
      pass(100);
      expect(pacer.handle(quick, 100_000)).toBeUndefined();
    }
    expect(pacer.rate).toBe(125);
    // A request: the next read waits, 10 kB at 125 bytes/ms.
    loop.sinceRequestMs = 999;
    const held = pacer.handle(quick, 10_000);
    expect(held).toBeInstanceOf(Promise);
    pass(79);
    expect(await settled(held!)).toBe(false);
    pass(1);
    expect(await settled(held!)).toBe(true);
    // Quiet again: read at once, whatever the rate.
    loop.sinceRequestMs = 1000;
    expect(pacer.handle(quick, 1_000_000)).toBeUndefined();
  });

  it('watches the loop only while output flows, and never with no lag allowed', () => {
    const { pacer, loop, busy, pass } = pacerOnTestClock({
      windowMs: 10,
      budgetMs: 5,
    });
    pacer.handle(busy(1), 1);
    expect(loop).toMatchObject({ watched: 1, stopped: 0 });
    pass(999);
    pacer.handle(busy(1), 1);
    pass(999);
    expect(loop).toMatchObject({ watched: 1, stopped: 0 });
    pass(1);
    expect(loop).toMatchObject({ watched: 1, stopped: 1 });
    pacer.handle(busy(1), 1);
    expect(loop).toMatchObject({ watched: 2, stopped: 1 });
    pacer.stop();
    expect(loop).toMatchObject({ watched: 2, stopped: 2 });

    const never = pacerOnTestClock({ windowMs: 10, budgetMs: 5, maxLagMs: 0 });
    never.loop.late = 1000;
    for (let i = 0; i < 5; i++) {
      never.pass(100);
      expect(never.pacer.handle(never.busy(1), 1)).toBeUndefined();
    }
    expect(never.loop.watched).toBe(0);
  });

  it('measures how late the event loop ran, one stall at half its length', async () => {
    jest.useRealTimers();
    const watch = watchEventLoop();
    const hold = (ms: number) => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // Holding the loop.
      }
    };
    try {
      await sleep(30);
      watch.lateMs();
      // The turn after a 60 ms stall comes at least 50 ms late.
      hold(60);
      await sleep(30);
      expect(watch.lateMs()).toBeGreaterThanOrEqual(25);
      hold(60);
      await sleep(30);
      hold(60);
      await sleep(30);
      expect(watch.lateMs()).toBeGreaterThanOrEqual(50);
    } finally {
      watch.stop();
    }
  });
});
