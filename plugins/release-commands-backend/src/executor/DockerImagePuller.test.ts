import { ExecutorError } from '@release-commands/backstage-plugin-release-commands-node';
import Docker from 'dockerode';
import net from 'node:net';
import { MISSING_IMAGE, useTestEngine } from '../__testUtils__/useTestEngine';
import { DockerEngine } from './DockerEngine';
import { DEFAULT_DOCKER_EXECUTOR_OPTIONS } from './DockerExecutor';
import { DockerImagePuller } from './DockerImagePuller';
import { DockerExecutorOptions } from './readDockerExecutorOptions';

jest.setTimeout(60_000);

describe('DockerImagePuller', () => {
  const engine = useTestEngine();
  let docker: Docker;
  let image: string;

  beforeAll(() => {
    ({ docker, image } = engine);
  });

  function createPuller(
    options: Partial<DockerExecutorOptions> = {},
    client = docker,
  ) {
    return new DockerImagePuller(new DockerEngine(client, 'test engine'), {
      ...DEFAULT_DOCKER_EXECUTOR_OPTIONS,
      ...options,
    });
  }

  describe('prepareImage', () => {
    function prepare(puller: DockerImagePuller, ref: string) {
      const lines: string[] = [];
      const done = puller.prepareImage({
        image: ref,
        log: line => lines.push(line),
        signal: new AbortController().signal,
      });
      return { done, lines };
    }

    it('uses an image that is present without pulling it, resolved to its id', async () => {
      const { done, lines } = prepare(createPuller(), image);

      const { Id } = await docker.getImage(image).inspect();
      // Built on the engine, never pulled: no registry knows it. Its labels
      // come back, for the commands an image may declare.
      const prepared = await done;
      expect(prepared).toMatchObject({
        reference: Id,
        id: Id,
        labels: { 'org.release-commands.test-image': 'true' },
      });
      // Podman names a digest for every image, its local manifest's, and
      // labels what it imports with the buildah version; Docker adds
      // neither.
      const podman = engine.kind === 'podman';
      expect(prepared!.digest ?? '').toMatch(
        podman
          ? /^docker\.io\/release-commands-test\/busybox@sha256:[0-9a-f]{64}$/
          : /^$/,
      );
      expect(Object.keys(prepared!.labels!).sort()).toEqual(
        podman
          ? ['io.buildah.version', 'org.release-commands.test-image']
          : ['org.release-commands.test-image'],
      );
      expect(Id).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(lines).toEqual([`Image ${image} is present on the engine`]);
    });

    it('refuses a missing image when the pull policy is "never"', async () => {
      const { done } = prepare(
        createPuller({ pullPolicy: 'never' }),
        MISSING_IMAGE,
      );

      await expect(done).rejects.toMatchObject({
        kind: 'image',
        message: `Image ${MISSING_IMAGE} is not present on the Docker engine and the pull policy is "never"; build or load it there first`,
      });
    });

    it('pulls a missing image and reports the registry error', async () => {
      const { done, lines } = prepare(createPuller(), MISSING_IMAGE);

      // No registry is reachable from the test engine, so the pull fails.
      const error = await done.catch(e => e);
      expect(error).toBeInstanceOf(ExecutorError);
      expect(error.kind).toBe('image');
      expect(error.message).toMatch(
        new RegExp(`^Pulling ${MISSING_IMAGE} failed: .+`),
      );
      expect(error.message).not.toContain('HTTP code');
      expect(lines).toEqual([`Pulling ${MISSING_IMAGE} ...`]);
    });

    it('pulls a present image when the pull policy is "always"', async () => {
      const { done, lines } = prepare(
        createPuller({ pullPolicy: 'always' }),
        image,
      );

      await expect(done).rejects.toMatchObject({ kind: 'image' });
      expect(lines).toEqual([`Pulling ${image} ...`]);
    });

    it('gives up a pull that does not finish within the pull timeout', async () => {
      // A registry that accepts connections and never answers.
      const sockets: net.Socket[] = [];
      const registry = net.createServer(socket => sockets.push(socket));
      await new Promise<void>(resolve =>
        registry.listen(0, '127.0.0.1', resolve),
      );
      const { port } = registry.address() as net.AddressInfo;
      const silent = `127.0.0.1:${port}/release-commands-test/silent:1`;
      try {
        const startedAt = Date.now();
        const { done, lines } = prepare(
          createPuller({ pullTimeoutMs: 1500 }),
          silent,
        );

        await expect(done).rejects.toMatchObject({
          name: 'ExecutorError',
          kind: 'image',
          message: `Pulling ${silent} did not finish within 1.5s (releaseCommands.docker.pullTimeoutSeconds)`,
        });
        expect(Date.now() - startedAt).toBeLessThan(10_000);
        expect(lines).toEqual([`Pulling ${silent} ...`]);
        // The engine did try that registry.
        expect(sockets.length).toBeGreaterThan(0);
      } finally {
        sockets.forEach(socket => socket.destroy());
        registry.close();
      }
    });

    it('fails with kind "engine" when the engine is unreachable', async () => {
      const { done } = prepare(
        createPuller({}, new Docker({ socketPath: '/nonexistent.sock' })),
        image,
      );

      await expect(done).rejects.toMatchObject({
        kind: 'engine',
        message:
          'The Docker engine at test engine is unreachable: connect ENOENT /nonexistent.sock',
      });
    });
  });
});
