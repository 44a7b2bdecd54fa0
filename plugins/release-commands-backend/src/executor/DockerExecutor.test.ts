import { ConfigReader } from '@backstage/config';
import { useTestEngine } from '../__testUtils__/useTestEngine';
import { DockerExecutor } from './DockerExecutor';

jest.setTimeout(60_000);

describe('DockerExecutor', () => {
  const engine = useTestEngine();

  it('prepares the image, runs a step and reaps leftovers on the configured engine', async () => {
    const executor = DockerExecutor.fromConfig(
      new ConfigReader({
        releaseCommands: {
          docker: { networkMode: 'none', stopGracePeriodSeconds: 1 },
        },
      }),
    );
    expect(executor.description).toMatch(/^docker \(.+\)$/);

    const lines: string[] = [];
    const prepared = await executor.prepareImage({
      image: engine.image,
      log: line => lines.push(line),
      signal: new AbortController().signal,
    });
    expect(lines).toEqual([`Image ${engine.image} is present on the engine`]);
    expect(prepared.reference).toMatch(/^sha256:/);

    const runId = engine.newRunId();
    let output = '';
    const result = await executor.runStep({
      image: prepared.reference,
      argv: ['/bin/sh', '-c', 'echo "$GREETING"; exit 2'],
      env: { GREETING: 'hello' },
      labels: {
        runId,
        entityRef: 'component:default/shop',
        step: 0,
        instanceId: 'test-instance',
        expiresAt: new Date(Date.now() + 3600_000),
      },
      onOutput: (_stream, chunk) => {
        output += chunk.toString();
      },
      signal: new AbortController().signal,
    });
    expect(result).toMatchObject({ exitCode: 2, oomKilled: false });
    expect(output).toBe('hello\n');

    const asked: string[] = [];
    await executor.removeLeftovers({
      isAlive: async id => {
        asked.push(id);
        return true;
      },
    });
    expect(asked).not.toContain(runId);
  });
});
