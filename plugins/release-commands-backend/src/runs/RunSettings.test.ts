import { ConfigReader } from '@backstage/config';
import { readRunSettings } from './RunSettings';

describe('readRunSettings', () => {
  const read = (runs: Record<string, unknown>) =>
    readRunSettings(new ConfigReader({ releaseCommands: { runs } } as any));

  it('holds output once the event loop runs 20 ms late when the config says nothing', () => {
    expect(readRunSettings(new ConfigReader({})).outputMaxLoopLagMs).toBe(20);
  });

  it.each([0, 5, 100])('reads outputMaxLoopLagMs %p', value => {
    expect(read({ outputMaxLoopLagMs: value }).outputMaxLoopLagMs).toBe(value);
  });

  it.each([-1, 2.5])('refuses outputMaxLoopLagMs %p, naming it', value => {
    expect(() => read({ outputMaxLoopLagMs: value })).toThrow(
      `releaseCommands.runs.outputMaxLoopLagMs must be a whole number of at least 0, got ${value}`,
    );
  });

  const readRoot = (releaseCommands: Record<string, unknown>) =>
    readRunSettings(new ConfigReader({ releaseCommands } as any));

  it.each([
    [
      { defaultTimeoutSeconds: 0 },
      'releaseCommands.defaultTimeoutSeconds must be at least 1 second, got 0',
    ],
    [
      { defaultTimeoutSeconds: 2.5 },
      'releaseCommands.defaultTimeoutSeconds must be a whole number of seconds, got 2.5',
    ],
    // Past ~24.8 days a Node timer fires at once: every step would time out.
    [
      { defaultTimeoutSeconds: 30 * 86400 },
      'releaseCommands.defaultTimeoutSeconds must be at most 86400 seconds (24 hours), got 2592000',
    ],
    [
      { runs: { maxRunSeconds: 30 * 86400 } },
      'releaseCommands.runs.maxRunSeconds must be a positive number of seconds, at most 2147483, got 2592000',
    ],
    [
      { runs: { heartbeatIntervalSeconds: 0 } },
      'releaseCommands.runs.heartbeatIntervalSeconds must be a positive number of seconds',
    ],
    [
      { docker: { stopGracePeriodSeconds: -1 } },
      'releaseCommands.docker.stopGracePeriodSeconds must be from 0 to 3600 seconds, got -1',
    ],
    [{ runs: { maxConcurrent: 0 } }, 'releaseCommands.runs.maxConcurrent'],
    [{ runs: { logCapBytes: 10 } }, 'releaseCommands.runs.logCapBytes'],
    [
      { runs: { maxQueuedPerEntity: 0 } },
      'releaseCommands.runs.maxQueuedPerEntity',
    ],
    [
      { runs: { maxHeldSecretBytes: 1 } },
      'releaseCommands.runs.maxHeldSecretBytes',
    ],
  ])('refuses %j, naming the key', (releaseCommands, message) => {
    expect(() => readRoot(releaseCommands)).toThrow(message);
  });

  it('reads the timeouts it accepts', () => {
    const settings = readRoot({
      defaultTimeoutSeconds: 86400,
      runs: { maxRunSeconds: 7 * 86400 },
      docker: { stopGracePeriodSeconds: 0 },
    });
    expect([
      settings.defaultTimeoutSeconds,
      settings.runDeadlineMs,
      settings.stopGracePeriodMs,
    ]).toEqual([86400, 7 * 86400_000, 0]);
  });
});
