import Docker from 'dockerode';

/**
 * A client for the local engine, after checking that it answers. Tests that
 * need containers call this in `beforeAll`, so a missing engine fails them
 * with a reason instead of skipping them.
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
  return docker;
}
