import Docker from 'dockerode';

/** The engines the Docker executor's tests run against. */
export type TestEngineKind = 'docker' | 'podman';

/**
 * Which engine answers: Podman's Docker-compatible service names a
 * "Podman Engine" component in its version.
 */
async function testEngineKind(docker: Docker): Promise<TestEngineKind> {
  const version = await docker.version();
  return version.Components?.some(c => c.Name === 'Podman Engine')
    ? 'podman'
    : 'docker';
}

/**
 * The engine the tests are told they run against:
 * `RELEASE_COMMANDS_TEST_ENGINE` (the test command's Podman stage sets
 * `podman`), else Docker. {@link requireDocker} checks that it is the one
 * that answers, so tests may decide on it while Jest collects them.
 */
export function expectedTestEngineKind(): TestEngineKind {
  const wanted = process.env.RELEASE_COMMANDS_TEST_ENGINE ?? 'docker';
  if (wanted !== 'docker' && wanted !== 'podman') {
    throw new Error(
      `RELEASE_COMMANDS_TEST_ENGINE must be docker or podman, not ${wanted}`,
    );
  }
  return wanted;
}

/**
 * A client for the local engine, after checking that it answers and is the
 * one {@link expectedTestEngineKind} names. Tests that need containers call
 * this in `beforeAll`, so a missing engine fails them with a reason instead
 * of skipping them, and a stage meant for Podman never passes on Docker.
 */
export async function requireDocker(): Promise<Docker> {
  const docker = new Docker();
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `These tests need a Docker engine (DOCKER_HOST or /var/run/docker.sock): ${
        (error as Error).message
      }. The README's test command starts one when run as root.`,
    );
  }
  const wanted = expectedTestEngineKind();
  const kind = await testEngineKind(docker);
  if (kind !== wanted) {
    throw new Error(
      `The engine at ${
        process.env.DOCKER_HOST ?? 'the default socket'
      } is ${kind}, but the tests expect ${wanted} (RELEASE_COMMANDS_TEST_ENGINE)`,
    );
  }
  return docker;
}
