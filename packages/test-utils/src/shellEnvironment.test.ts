import { shellEnvironment } from './shellEnvironment';

describe('shellEnvironment', () => {
  const saved = { ...process.env };

  afterEach(() => {
    process.env = { ...saved };
  });

  it("drops what Jest and Yarn's script runner set, and keeps the machine's settings", () => {
    process.env = {
      PATH: '/tmp/xfs-1234:/opt/node/bin:/usr/bin',
      BERRY_BIN_FOLDER: '/tmp/xfs-1234',
      INIT_CWD: '/repo/test/adopter',
      PROJECT_CWD: '/repo',
      NODE_ENV: 'test',
      JEST_WORKER_ID: '1',
      npm_package_name: '@release-commands/test-adopter',
      npm_lifecycle_event: 'test',
      npm_execpath: '/tmp/xfs-1234/yarn',
      npm_config_nodedir: '/opt/node',
      HOME: '/root',
      CI: 'true',
    };
    expect(shellEnvironment()).toEqual({
      PATH: '/opt/node/bin:/usr/bin',
      npm_config_nodedir: '/opt/node',
      HOME: '/root',
      CI: 'true',
    });
  });
});
