import { InputError, ResponseError } from '@backstage/errors';
import { createParser } from 'eventsource-parser';
import { describeZodError, entityRefSchema } from './schemas';
import {
  CreateRunRequest,
  ReleaseCommandRun,
  ReleaseCommandRunPage,
  RunLogChunk,
  RunPlan,
  RunStatus,
} from './runs';
import {
  ReleaseCommand,
  ReleaseCommandList,
  ReleaseCommandPreset,
} from './types';
import { AppendCommandRequest, ReplaceCommandsRequest } from './schemas';
import { CommandRevisionPage, RestoreRevisionRequest } from './history';
import { CommandDeclarations } from './declarations';

/**
 * Where the API is and how to call it: the frontend passes its discovery and
 * fetch APIs, the CLI a fetch that adds its token, backend modules one that
 * adds service credentials.
 *
 * @public
 */
export type ReleaseCommandsClientOptions = {
  /** Resolves to the plugin's base URL, e.g. `http://host:7007/api/release-commands`. */
  baseUrl: () => Promise<string>;
  fetch?: typeof fetch;
};

/** How a followed log ended. @public */
export type RunLogEnd = { status: RunStatus; reason: string | null };

/**
 * A typed client for the release-commands API, shared by the tab, the
 * scaffolder actions and the CLI. Refusals throw `ResponseError` carrying
 * the server's message (`error.body.error.message`).
 *
 * @public
 */
export class ReleaseCommandsClient {
  private readonly fetch: typeof fetch;

  constructor(private readonly options: ReleaseCommandsClientOptions) {
    this.fetch = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** An entity's commands in run order, with the list's revision. */
  async getCommands(entityRef: string): Promise<ReleaseCommandList> {
    return this.json(`${entityPath(entityRef)}/commands`);
  }

  /**
   * Replaces an entity's whole list in one write. Rejects with 409 when
   * `body.revision` is not the list's current revision; nothing is written.
   */
  async replaceCommands(
    entityRef: string,
    body: ReplaceCommandsRequest,
  ): Promise<ReleaseCommandList> {
    return this.json(`${entityPath(entityRef)}/commands`, {
      method: 'PUT',
      body,
    });
  }

  /**
   * Appends one command. The same source and command twice is one command:
   * `created` tells whether it was added now.
   */
  async appendCommand(
    entityRef: string,
    body: AppendCommandRequest,
  ): Promise<
    ReleaseCommandList & { command: ReleaseCommand; created: boolean }
  > {
    return this.json(`${entityPath(entityRef)}/commands`, {
      method: 'POST',
      body,
    });
  }

  /** Deletes one command of an entity. */
  async deleteCommand(
    entityRef: string,
    id: string,
  ): Promise<ReleaseCommandList> {
    return this.json(
      `${entityPath(entityRef)}/commands/${encodeURIComponent(id)}`,
      { method: 'DELETE' },
    );
  }

  /**
   * The commands the entity's repository declares now, and what the image
   * of its newest run with image-declared commands declared.
   */
  async getDeclaredCommands(entityRef: string): Promise<CommandDeclarations> {
    return this.json(`${entityPath(entityRef)}/commands/declared`);
  }

  /** A page of the entity's revisions (every write to its list), newest first. */
  async listRevisions(
    entityRef: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<CommandRevisionPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor) query.set('cursor', options.cursor);
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.json(`${entityPath(entityRef)}/commands/history${suffix}`);
  }

  /**
   * Brings the commands of revision `from` back as a new revision. Rejects
   * with 409 when `body.revision` is not the list's current revision.
   */
  async restoreRevision(
    entityRef: string,
    from: number,
    body: RestoreRevisionRequest,
  ): Promise<ReleaseCommandList> {
    return this.json(
      `${entityPath(entityRef)}/commands/history/${from}/restore`,
      { method: 'POST', body },
    );
  }

  /** The framework defaults (Django, Rails, ...) a template can preset. */
  async getPresets(): Promise<ReleaseCommandPreset[]> {
    return (await this.json<{ presets: ReleaseCommandPreset[] }>('/presets'))
      .presets;
  }

  /**
   * Queues a run of the entity's enabled commands on an image. Rejects with
   * 409 while another run of the entity and environment is active.
   */
  async createRun(
    entityRef: string,
    body: Omit<CreateRunRequest, 'dryRun'>,
  ): Promise<ReleaseCommandRun> {
    return this.json(`${entityPath(entityRef)}/runs`, {
      method: 'POST',
      body,
    });
  }

  /**
   * Checks a run without running it (`dryRun`): the plan, and the problems
   * that would stop the run before or at a step's start. Writes nothing.
   */
  async checkRun(
    entityRef: string,
    body: Omit<CreateRunRequest, 'dryRun'>,
  ): Promise<RunPlan> {
    return this.json(`${entityPath(entityRef)}/runs`, {
      method: 'POST',
      body: { ...body, dryRun: true },
    });
  }

  /** A page of the entity's runs, newest first. */
  async listRuns(
    entityRef: string,
    options: { limit?: number; cursor?: string } = {},
  ): Promise<ReleaseCommandRunPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor) query.set('cursor', options.cursor);
    const suffix = query.size > 0 ? `?${query}` : '';
    return this.json(`${entityPath(entityRef)}/runs${suffix}`);
  }

  /** One run with its steps. */
  async getRun(id: string): Promise<ReleaseCommandRun> {
    return this.json(`/runs/${encodeURIComponent(id)}`);
  }

  /**
   * Asks for a run to stop: a queued run is dropped, a running command is
   * stopped. Rejects with 409 when the run has already ended.
   */
  async cancelRun(id: string): Promise<ReleaseCommandRun> {
    return this.json(`/runs/${encodeURIComponent(id)}/cancel`, {
      method: 'POST',
    });
  }

  /** The whole log (of an ended run), or what there is so far. */
  async getLogText(id: string): Promise<string> {
    const res = await this.request(`/runs/${encodeURIComponent(id)}/logs`);
    return res.text();
  }

  /**
   * Follows a run's log as it is written, calling `onChunk` for each chunk
   * after sequence number `after`, and resolves with the run's end. Rejects
   * when the stream breaks before the end: call again with the last seen
   * sequence number to resume without losing or repeating anything.
   */
  async followLog(
    id: string,
    options: {
      after?: number;
      signal?: AbortSignal;
      /**
       * Rejects when nothing (not even the server's keep-alive, sent every
       * 15 s) arrives for this long, so a silently dead connection is noticed.
       */
      idleTimeoutMs?: number;
      /** Called once the stream is open. */
      onOpen?: () => void;
      onChunk: (chunk: RunLogChunk) => void;
    },
  ): Promise<RunLogEnd> {
    const query = new URLSearchParams({ follow: 'true' });
    if (options.after !== undefined && options.after >= 0) {
      query.set('after', String(options.after));
    }
    const res = await this.request(
      `/runs/${encodeURIComponent(id)}/logs?${query}`,
      { signal: options.signal, headers: { Accept: 'text/event-stream' } },
    );
    if (!res.body) {
      throw new Error(`The log of run ${id} came without a body`);
    }
    options.onOpen?.();
    let end: RunLogEnd | undefined;
    const parser = createParser({
      onEvent: event => {
        if (event.event === 'chunk') {
          options.onChunk(JSON.parse(event.data));
        } else if (event.event === 'end') {
          end = JSON.parse(event.data);
        }
      },
    });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    try {
      while (!end) {
        const { done, value } = await readWithin(
          reader,
          options.idleTimeoutMs,
          `No data from the log stream of run ${id} for ${options.idleTimeoutMs} ms`,
        );
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } finally {
      reader.cancel().catch(() => {});
    }
    if (!end) {
      throw new Error(`The log stream of run ${id} ended before the run did`);
    }
    return end;
  }

  private async json<T>(
    path: string,
    init: { method?: string; body?: unknown } = {},
  ): Promise<T> {
    const res = await this.request(path, {
      method: init.method,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      headers:
        init.body === undefined
          ? undefined
          : { 'Content-Type': 'application/json' },
    });
    return res.json();
  }

  private async request(path: string, init: RequestInit = {}) {
    const res = await this.fetch(
      `${await this.options.baseUrl()}${path}`,
      init,
    );
    if (!res.ok) {
      throw await ResponseError.fromResponse(res);
    }
    return res;
  }
}

/** The next read, rejected when it takes longer than `ms` (if given). */
async function readWithin<T>(
  reader: ReadableStreamDefaultReader<T>,
  ms: number | undefined,
  message: string,
): Promise<ReadableStreamReadResult<T>> {
  if (!ms) return reader.read();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** `component:default/shop` to `/entities/component/default/shop`. */
function entityPath(entityRef: string): string {
  const parsed = entityRefSchema.safeParse(entityRef);
  if (!parsed.success) {
    throw new InputError(`entityRef ${describeZodError(parsed.error)}`);
  }
  const ref = parsed.data;
  const [kind, rest] = ref.split(':');
  const [namespace, name] = rest.split('/');
  return `/entities/${encodeURIComponent(kind)}/${encodeURIComponent(
    namespace,
  )}/${encodeURIComponent(name)}`;
}
