import type {
  ReleaseCommandRun,
  RunLogChunk,
} from '@internal/backstage-plugin-release-commands-common';
import {
  BackendProcess,
  readServerSentEvents,
} from '@internal/release-commands-test-utils';
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
    async setCommands(
      entity: string,
      commands: Array<{
        label: string;
        command: string;
        timeoutSeconds?: number;
      }>,
    ) {
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

/** Containers carrying the plugin's label, optionally for one run. */
export async function labelledContainers(docker: Docker, runId?: string) {
  return docker.listContainers({
    all: true,
    filters: {
      label: [
        runId
          ? `org.release-commands.run=${runId}`
          : 'org.release-commands.managed=true',
      ],
    },
  });
}

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
