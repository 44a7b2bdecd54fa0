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
});
