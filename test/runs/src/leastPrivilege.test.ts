import {
  BackendProcess,
  buildBusyboxImage,
  requireDocker,
  startBackendProcess,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { randomBytes } from 'node:crypto';
import { runsApi } from './runs';

jest.setTimeout(5 * 60_000);

/**
 * What a command may do in its container, as the portal's backend starts
 * it: no capability in any set, and the user the config names.
 */
describe("a command's privileges, in the stored log of a run", () => {
  let docker: Docker;
  let image: string;
  let backend: BackendProcess;

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
    backend = await startBackendProcess({
      database: 'sqlite',
      releaseCommands: {
        docker: {
          networkMode: 'none',
          stopGracePeriodSeconds: 1,
          user: '10001:10001',
        },
      },
    });
  });

  afterAll(async () => {
    await backend?.stop();
  });

  it('holds no capability and runs as the configured user', async () => {
    const api = runsApi(backend);
    const entity = `privileges-${randomBytes(3).toString('hex')}`;
    await api.setCommands(entity, [
      { label: 'Who am I', command: 'grep Cap /proc/self/status; id' },
    ]);
    const run = await api.deploy(entity, { image });
    const ended = await api.waitForEnd(run.id);
    expect([ended.status, ended.reason]).toEqual(['succeeded', null]);

    const log = await api.log(run.id);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
      expect(log).toMatch(new RegExp(`^${set}:\\t0{16}\\r?$`, 'm'));
    }
    expect(log).toMatch(/^uid=10001 gid=10001/m);
  });
});
