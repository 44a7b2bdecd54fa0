import { RunLogChunk } from '@release-commands/backstage-plugin-release-commands-common';

/** One write of a run's log writer. */
export type LogBatch = {
  append: RunLogChunk[];
  put: RunLogChunk[];
  delete: number[];
};

/**
 * Where runs' logs live: ordered chunks per run, by sequence number. The
 * writer (`RunLog`) decides what is kept under the cap; this store keeps what
 * it is told, replaces the note at the seam and deletes what was pushed out.
 */
export interface RunLogStore {
  appendLog(runId: string, chunks: RunLogChunk[]): Promise<void>;

  /** Replaces the text of an existing chunk, or inserts it. */
  putLogChunk(runId: string, chunk: RunLogChunk): Promise<void>;

  deleteLogChunks(runId: string, seqs: number[]): Promise<void>;

  /**
   * Writes what a run's log writer buffered, all or nothing: new chunks,
   * replaced chunks (the note at the seam) and deletes. With `ownerInstance`,
   * only while the run is active and that instance's: false (nothing
   * written) once it ended, so that an owner that comes back after recovery
   * ended its run never writes into the log that recovery closed.
   */
  writeLog(
    runId: string,
    batch: LogBatch,
    options?: { ownerInstance?: string },
  ): Promise<boolean>;

  readLog(
    runId: string,
    options: { afterSeq: number; limit: number },
  ): Promise<RunLogChunk[]>;

  /** The highest sequence number of a run's log, or -1. */
  lastLogSeq(runId: string): Promise<number>;

  /**
   * Deletes a run's whole log, at most `batchSize` chunks per statement so a
   * long log never holds the table for long; returns how many were deleted.
   */
  deleteRunLog(
    runId: string,
    options?: { batchSize?: number },
  ): Promise<number>;
}
