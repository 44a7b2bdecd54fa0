import { ResponseError } from '@backstage/errors';
import { ReleaseCommandsClient } from '@release-commands/backstage-plugin-release-commands-common';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeclaredCommand } from './readDeclaredCommands';

/** What seeding did to one entity's list. */
export type SeedOutcome =
  | { outcome: 'added'; added: number; revision: number }
  | { outcome: 'already-written'; revision: number };

/** How long the API may take to answer, from the backend's start. */
const DEFAULT_API_WAIT_MS = 120_000;

/**
 * Adds declared commands to an entity's list through the release-commands
 * API (the append route, source `api`), once the API answers, and only while
 * the list has never been written (revision 0): after that the entity's tab
 * is where they change, so a person's deletions are not undone.
 */
export async function seedDeclaredCommands(options: {
  client: ReleaseCommandsClient;
  entityRef: string;
  commands: DeclaredCommand[];
  signal?: AbortSignal;
  apiWaitMs?: number;
}): Promise<SeedOutcome> {
  const { client, entityRef, commands, signal } = options;
  const list = await whenAnswering(() => client.getCommands(entityRef), {
    signal,
    waitMs: options.apiWaitMs ?? DEFAULT_API_WAIT_MS,
  });
  if (list.revision !== 0) {
    return { outcome: 'already-written', revision: list.revision };
  }
  // One by one, in the file's order; the route is idempotent on source and
  // command, so two backends seeding at once add each command once.
  let revision = list.revision;
  let added = 0;
  for (const command of commands) {
    signal?.throwIfAborted();
    const result = await client.appendCommand(entityRef, {
      ...command,
      source: 'api',
    });
    revision = result.revision;
    if (result.created) added += 1;
  }
  return { outcome: 'added', added, revision };
}

/**
 * Calls `call` until the API answers it: a refused connection or a 503 (a
 * backend still starting), or a 404 for an entity the catalog has not
 * ingested yet (it reads its locations after start-up too), is tried again,
 * with growing pauses, for up to `waitMs`; any other answer, an error
 * included, is final.
 */
async function whenAnswering<T>(
  call: () => Promise<T>,
  options: { signal?: AbortSignal; waitMs: number },
): Promise<T> {
  const until = Date.now() + options.waitMs;
  for (let pause = 100; ; pause = Math.min(pause * 2, 5_000)) {
    options.signal?.throwIfAborted();
    try {
      return await call();
    } catch (error) {
      if (!isNotAnsweringYet(error)) throw error;
      if (Date.now() + pause > until) {
        throw new Error(
          `the release-commands API did not answer within ${Math.round(
            options.waitMs / 1000,
          )} s (${describeFailure(error)})`,
        );
      }
    }
    await sleep(pause, undefined, { signal: options.signal });
  }
}

function isNotAnsweringYet(error: unknown): boolean {
  if (ResponseError.is(error)) {
    return (
      error.statusCode === 503 ||
      (error.statusCode === 404 &&
        /is not in the catalog/.test(error.body.error.message))
    );
  }
  // fetch's own failure: nothing listens yet, or the connection broke. By
  // name: Node's fetch may throw a TypeError of another realm.
  const { name, message } = error as Error;
  return name === 'TypeError' && message === 'fetch failed';
}

function describeFailure(error: unknown): string {
  if (ResponseError.is(error)) return error.body.error.message;
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  const message = (error as Error).message;
  return cause ? `${message}: ${cause}` : message;
}
