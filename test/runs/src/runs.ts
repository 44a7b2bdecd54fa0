import type {
  ReleaseCommandRun,
  RunLogChunk,
} from '@release-commands/backstage-plugin-release-commands-common';
import {
  BackendProcess,
  readServerSentEvents,
} from '@release-commands/test-utils';
import Docker from 'dockerode';

/** What the suites do through the API of a backend process. */
export function runsApi(backend: BackendProcess) {
  async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await backend.api(path, init);
    const text = await res.text();
    if (!res.ok) {
      throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${text}`);
    }
    return text ? JSON.parse(text) : (undefined as T);
  }

  return {
    call,
    /**
     * Sets the entity's commands, registering the entity in the backend's
     * catalog first (a suite that knows its entities up front registers them
     * in one batch with `backend.registerComponents`, which is quicker).
     */
    async setCommands(
      entity: string,
      commands: Array<{
        label: string;
        command: string;
        timeoutSeconds?: number;
      }>,
    ) {
      // Commands are kept only for entities the catalog knows; a no-op for
      // names the suite registered already.
      await backend.registerComponents([entity]);
      const path = `/entities/component/default/${entity}/commands`;
      const { revision } = await call<{ revision: number }>(path);
      await call(path, {
        method: 'PUT',
        body: JSON.stringify({ revision, commands }),
      });
    },
    deploy(entity: string, body: Record<string, unknown>) {
      return call<ReleaseCommandRun>(
        `/entities/component/default/${entity}/runs`,
        { method: 'POST', body: JSON.stringify(body) },
      );
    },
    getRun: (id: string) => call<ReleaseCommandRun>(`/runs/${id}`),
    async log(id: string): Promise<string> {
      const res = await backend.api(`/runs/${id}/logs`);
      return res.text();
    },
    /** Follows the log until the run ends; returns its chunks and the end. */
    async follow(id: string) {
      const chunks: RunLogChunk[] = [];
      let end: { status: string; reason: string | null } | undefined;
      const res = await backend.api(`/runs/${id}/logs?follow=true`);
      for await (const event of readServerSentEvents(res)) {
        if (event.event === 'chunk') chunks.push(JSON.parse(event.data));
        if (event.event === 'end') end = JSON.parse(event.data);
      }
      return { chunks, end };
    },
    async waitForEnd(id: string, timeoutMs = 120_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const run = await call<ReleaseCommandRun>(`/runs/${id}`);
        if (!['queued', 'running'].includes(run.status)) return run;
        if (Date.now() > until) {
          throw new Error(
            `Run ${id} still ${run.status} after ${timeoutMs} ms`,
          );
        }
        await new Promise(resolve => setTimeout(resolve, 200));
      }
    },
  };
}

/**
 * Containers carrying the plugin's labels, of one run or of those whose
 * labels `belongs` accepts. Always scoped: other backends may share the
 * engine.
 */
export async function labelledContainers(
  docker: Docker,
  runs: string | ((labels: Record<string, string>) => boolean),
) {
  const containers = await docker.listContainers({
    all: true,
    filters: {
      label: [
        typeof runs === 'string'
          ? `org.release-commands.run=${runs}`
          : 'org.release-commands.managed=true',
      ],
    },
  });
  return typeof runs === 'string'
    ? containers
    : containers.filter(c => runs(c.Labels));
}

/** Accepts the labels of the containers of these runs. */
export const ofRuns = (ids: Iterable<string>) => {
  const set = new Set(ids);
  return (labels: Record<string, string>) =>
    set.has(labels['org.release-commands.run']);
};

export async function waitFor(
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise(resolve => setTimeout(resolve, 200));
  }
}
