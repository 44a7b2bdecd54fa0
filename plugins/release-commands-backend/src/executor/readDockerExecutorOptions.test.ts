import { ConfigReader } from '@backstage/config';
import {
  findRegistryCredentials,
  parseMemorySize,
  readDockerExecutorOptions,
} from './readDockerExecutorOptions';

describe('readDockerExecutorOptions', () => {
  const read = (docker: object) =>
    readDockerExecutorOptions(
      new ConfigReader({ releaseCommands: { docker } }),
    );

  it('reads the configured values', () => {
    expect(
      read({
        pullPolicy: 'never',
        registries: [{ host: 'ghcr.io', username: 'u', password: 'p' }],
        memory: '512m',
        cpus: 1.5,
        pidsLimit: 64,
        networkMode: 'none',
        stopGracePeriodSeconds: 3,
        init: false,
        tty: false,
        pullTimeoutSeconds: 120,
        engineTimeoutSeconds: 2.5,
        capAdd: ['NET_BIND_SERVICE', 'cap_chown'],
        environments: { production: { networkMode: 'db-net' } },
        user: '10001:10001',
        readOnlyRootFilesystem: true,
        tmpSize: '16m',
      }),
    ).toEqual({
      pullPolicy: 'never',
      registries: [{ host: 'ghcr.io', username: 'u', password: 'p' }],
      memoryBytes: 512 * 1024 * 1024,
      cpus: 1.5,
      pidsLimit: 64,
      networkMode: 'none',
      stopGracePeriodSeconds: 3,
      init: false,
      tty: false,
      pullTimeoutMs: 120_000,
      engineTimeoutMs: 2500,
      capAdd: ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
      environmentNetworkModes: { production: 'db-net' },
      user: '10001:10001',
      readOnlyRootFilesystem: true,
      tmpBytes: 16 * 1024 * 1024,
    });
    expect(read({})).toEqual({});
  });

  it('lifts the memory limit only when told "unlimited"', () => {
    expect(read({ memory: 'unlimited' })).toEqual({ memoryBytes: null });
  });

  it.each(['app', '10001', 'app:staff', '10001:10001', 'www-data'])(
    'takes %j as a user',
    user => {
      expect(read({ user })).toEqual({ user });
    },
  );

  it.each([
    [{ memory: 'lots' }, 'releaseCommands.docker.memory'],
    [{ memory: -1 }, 'releaseCommands.docker.memory'],
    [{ pullPolicy: 'sometimes' }, 'releaseCommands.docker.pullPolicy'],
    [{ cpus: 0 }, 'releaseCommands.docker.cpus'],
    [{ pidsLimit: 1.5 }, 'releaseCommands.docker.pidsLimit'],
    [{ pullTimeoutSeconds: 0 }, 'releaseCommands.docker.pullTimeoutSeconds'],
    [
      { engineTimeoutSeconds: -1 },
      'releaseCommands.docker.engineTimeoutSeconds',
    ],
    [{ capAdd: ['ALL'] }, 'releaseCommands.docker.capAdd lists "ALL"'],
    [{ capAdd: ['CAP_WIZARDRY'] }, 'releaseCommands.docker.capAdd'],
    [{ user: '' }, 'releaseCommands.docker.user'],
    [{ user: 'root:' }, 'releaseCommands.docker.user'],
    [{ user: '1000:1000:1000' }, 'releaseCommands.docker.user'],
    [{ user: 'app; rm -rf /' }, 'releaseCommands.docker.user'],
    [{ tmpSize: 'big' }, 'releaseCommands.docker.tmpSize'],
  ])('rejects %j naming %s', (docker, key) => {
    expect(() => read(docker)).toThrow(key);
  });
});

describe('parseMemorySize', () => {
  it.each([
    ['512m', 512 * 1024 ** 2],
    ['1g', 1024 ** 3],
    ['1.5G', 1.5 * 1024 ** 3],
    ['64k', 64 * 1024],
    ['256MB', 256 * 1024 ** 2],
    ['1000', 1000],
    [16777216, 16777216],
  ])('reads %j as %d bytes', (value, bytes) => {
    expect(parseMemorySize(value, 'memory')).toBe(bytes);
  });
});

describe('findRegistryCredentials', () => {
  const registries = [
    { host: 'docker.io', username: 'hub', password: 'p' },
    { host: 'https://ghcr.io/', username: 'gh', password: 'p' },
    { host: 'localhost:5000', username: 'local', password: 'p' },
    { host: 'registry.example.com', username: 'example', password: 'p' },
  ];

  it.each([
    ['busybox', 'hub'],
    ['library/busybox:1', 'hub'],
    ['docker.io/library/busybox:1', 'hub'],
    ['index.docker.io/library/busybox:1', 'hub'],
    ['ghcr.io/acme/shop:1', 'gh'],
    ['localhost:5000/shop', 'local'],
    ['Registry.Example.com/shop@sha256:abc', 'example'],
    ['localhost/shop', undefined],
    ['quay.io/acme/shop', undefined],
  ])('finds the credentials for %s', (image, username) => {
    expect(findRegistryCredentials(registries, image)?.username).toBe(username);
  });
});
