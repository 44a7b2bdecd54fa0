import Docker from 'dockerode';

/** What the engine answered, or why it did not. */
export type DockerEngineStatus =
  | { reachable: true; version: string; apiVersion: string }
  | { reachable: false; error: string };

/** Asks the engine for its version, giving up after `timeoutMs`. */
export async function checkDockerEngine(
  docker: Docker,
  timeoutMs = 5000,
): Promise<DockerEngineStatus> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    const version = await Promise.race([docker.version(), timeout]);
    return {
      reachable: true,
      version: version.Version,
      apiVersion: version.ApiVersion,
    };
  } catch (error) {
    return { reachable: false, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
