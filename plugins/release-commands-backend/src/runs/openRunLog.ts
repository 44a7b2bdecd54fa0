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
 * A writer for a run's log from `firstSeq` on: it hands each write to the
 * log's followers in this process and reports write errors. With a masker, the plugin's own
 * lines are masked too; with `ownerInstance`, it writes only while the run is
 * that instance's.
 */
export function openRunLog(
  context: RunLogContext,
  runId: string,
  firstSeq: number,
  options: { masker?: SecretMasker; ownerInstance?: string } = {},
): RunLog {
  const { masker, ownerInstance } = options;
  const closeWriter = context.events.openWriter(runId);
  return new RunLog({
    redact: masker && (text => masker.maskText(text)),
    store: context.logStore,
    runId,
    firstSeq,
    ownerInstance,
    capBytes: context.logCapBytes,
    onWritten: write => context.events.publish(runId, write),
    onRewritten: () => context.events.rewrote(runId),
    onClosed: closeWriter,
    onError: error =>
      context.logger.warn(
        `Could not write the log of release command run ${runId}: ${error}`,
      ),
    onFenced: () => {
      context.events.disown(runId);
      context.logger.warn(
        `Release command run ${runId} was ended by another backend instance; this instance writes no more of its log`,
      );
    },
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
