import {
  buildBusyboxImage,
  requireDocker,
  expectedTestEngineKind,
} from '@release-commands/test-utils';
import Docker from 'dockerode';
import { randomUUID } from 'node:crypto';

/** An image no engine has and no registry serves. */
export const MISSING_IMAGE = 'release-commands-test/does-not-exist:1';

/**
 * A suite's real Docker engine and busybox test image (ready once the
 * suite's `beforeAll` hooks ran), and run ids for the containers its tests
 * start: after each test, no container of those runs may be left.
 */
export function useTestEngine() {
  let docker: Docker | undefined;
  let image: string | undefined;
  let runIds: string[] = [];

  beforeAll(async () => {
    docker = await requireDocker();
    image = await buildBusyboxImage(docker);
  });

  beforeEach(() => {
    runIds = [];
  });

  afterEach(async () => {
    for (const runId of runIds) {
      const left = await docker!.listContainers({
        all: true,
        filters: { label: [`org.release-commands.run=${runId}`] },
      });
      if (left.length > 0) {
        throw new Error(
          `Containers of run ${runId} were left behind: ${left.map(c => c.Id)}`,
        );
      }
    }
  });

  return {
    get docker(): Docker {
      return docker!;
    },
    get image(): string {
      return image!;
    },
    /**
     * Docker, or Podman's Docker-compatible service, where they differ;
     * known while Jest collects the tests (requireDocker checks it).
     */
    kind: expectedTestEngineKind(),
    /** A run id whose containers are checked after the test. */
    newRunId(): string {
      const runId = `test-${randomUUID()}`;
      runIds.push(runId);
      return runId;
    },
    async containerExists(id: string): Promise<boolean> {
      const all = await docker!.listContainers({
        all: true,
        filters: { id: [id] },
      });
      return all.length > 0;
    },
  };
}
