import { LoggerService } from '@backstage/backend-plugin-api';
import { RunLogStore } from '../database/RunLogStore';
import { RunEvents } from './RunEvents';
import { RunLog } from './RunLog';
import { SecretMasker } from './SecretMasker';

/** What every log of a run is written with. */
export type RunLogContext = {
  logStore: RunLogStore;
  events: RunEvents;
  logger: LoggerService;
  logCapBytes: number;
};

/**
 * A writer for a run's log from `firstSeq` on: it wakes the log's followers
 * after each write and reports write errors. With a masker, the plugin's own
 * lines are masked too.
 */
export function openRunLog(
  context: RunLogContext,
  runId: string,
  firstSeq: number,
  masker?: SecretMasker,
): RunLog {
  return new RunLog({
    redact: masker && (text => masker.maskText(text)),
    store: context.logStore,
    runId,
    firstSeq,
    capBytes: context.logCapBytes,
    onWritten: () => context.events.notify(runId),
    onError: error =>
      context.logger.warn(
        `Could not write the log of release command run ${runId}: ${error}`,
      ),
  });
}

/** A writer that continues a run's log after what is already stored. */
export async function continueRunLog(
  context: RunLogContext,
  runId: string,
): Promise<RunLog> {
  const next = (await context.logStore.lastLogSeq(runId)) + 1;
  return openRunLog(context, runId, next);
}
