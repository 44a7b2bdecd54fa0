import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { labelledContainers, ofRuns, runsApi } from './runs';

jest.setTimeout(15 * 60_000);

/**
 * Many real runs through the real backend process on PostgreSQL: no result
 * lost, no output lost, nothing left behind.
 */
describe('many runs on PostgreSQL', () => {
  let docker: Docker;
  let image: string;
  let backend: BackendProcess;
  let api: ReturnType<typeof runsApi>;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    backend = await startBackendProcess({
      database: 'postgres',
      releaseCommands: { runs: { maxConcurrent: 4 } },
    });
    api = runsApi(backend);
    // Both tests' entities in the catalog in one batch.
    await backend.registerComponents([
      ...Array.from({ length: 8 }, (_, e) => `exit-${e}`),
      ...Array.from({ length: 4 }, (_, e) => `echo-${e}`),
    ]);
  });

  afterAll(async () => {
    await backend?.stop();
  });

  /** Runs `count` deploys spread over `entities` entities, each in turn. */
  async function deployMany(prefix: string, entities: number, count: number) {
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: entities }, async (_, e) => {
        for (let i = e; i < count; i += entities) {
          const run = await api.deploy(`${prefix}-${e}`, { image });
          const { end } = await api.follow(run.id);
          expect(end?.status).toBeDefined();
          ids.push(run.id);
        }
      }),
    );
    return ids;
  }

  it("reports exit code 3 for 200 runs of sh -c 'exit 3'", async () => {
    for (let e = 0; e < 8; e++) {
      await api.setCommands(`exit-${e}`, [
        { label: 'Exit', command: 'exit 3' },
      ]);
    }
    const ids = await deployMany('exit', 8, 200);
    expect(new Set(ids).size).toBe(200);
    const runs = await Promise.all(ids.map(id => api.getRun(id)));
    const outcomes = runs.map(
      run =>
        `${run.status} ${run.steps[0].status} ${run.steps[0].exitCode} ${run.reason}`,
    );
    expect(outcomes).toEqual(
      Array(200).fill('failed failed 3 "Exit" exited with code 3.'),
    );
    expect(await labelledContainers(docker, ofRuns(ids))).toEqual([]);
  });

  it("keeps 'echo first' as the first output in 100 runs out of 100", async () => {
    for (let e = 0; e < 4; e++) {
      await api.setCommands(`echo-${e}`, [
        { label: 'Echo', command: 'echo first' },
      ]);
    }
    const ids = await deployMany('echo', 4, 100);
    const logs = await Promise.all(ids.map(id => api.log(id)));
    const firstOutputs = logs.map(log => {
      const lines = log.split('\n');
      return lines[lines.indexOf('[1/1] Echo: echo first') + 1];
    });
    expect(firstOutputs).toEqual(Array(100).fill('first'));
    expect(await labelledContainers(docker, ofRuns(ids))).toEqual([]);
  });
});
