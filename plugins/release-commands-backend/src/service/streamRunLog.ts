import { isFinalRunStatus } from '@release-commands/backstage-plugin-release-commands-common';
import { Request, Response } from 'express';
import { once } from 'node:events';
import { RunLogStore } from '../database/RunLogStore';
import { RunsStore } from '../database/RunsStore';
import { RunEvents } from '../runs/RunEvents';

const PAGE = 500;
const POLL_MS = 1000;
const KEEP_ALIVE_MS = 15_000;

type LogSource = {
  runsStore: Pick<RunsStore, 'getRun'>;
  logStore: Pick<RunLogStore, 'readLog'>;
  events: RunEvents;
};

/** Writes, waiting for the client to take it when its buffer is full. */
async function write(res: Response, text: string, closed: AbortSignal) {
  if (!res.write(text) && !closed.aborted) {
    await Promise.race([once(res, 'drain'), once(closed, 'abort')]);
  }
}

/** The whole log as plain text, read page by page. */
export async function sendRunLogText(
  res: Response,
  source: LogSource,
  runId: string,
  afterSeq: number,
) {
  const closed = new AbortController();
  res.on('close', () => closed.abort());
  res.type('text/plain; charset=utf-8');
  let last = afterSeq;
  for (;;) {
    const chunks = await source.logStore.readLog(runId, {
      afterSeq: last,
      limit: PAGE,
    });
    for (const chunk of chunks) {
      await write(res, chunk.text, closed.signal);
      last = chunk.seq;
    }
    if (chunks.length < PAGE || closed.signal.aborted) break;
  }
  res.end();
}

/**
 * The log as server-sent events: every chunk (`event: chunk`, `id` = its
 * sequence number, so `Last-Event-ID` resumes) as it is written, then
 * `event: end` with the run's final status. It follows runs written by other
 * replicas by polling, and this instance's at once.
 */
export async function streamRunLogEvents(
  req: Request,
  res: Response,
  source: LogSource,
  runId: string,
  afterSeq: number,
) {
  const closed = new AbortController();
  req.on('close', () => closed.abort());
  res.on('close', () => closed.abort());
  res.status(200);
  res.set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    // no-transform keeps the compression middleware from buffering events.
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  await write(res, 'retry: 2000\n\n', closed.signal);

  let last = afterSeq;
  let lastWrite = Date.now();
  let ended = false;
  while (!closed.signal.aborted) {
    const chunks = await source.logStore.readLog(runId, {
      afterSeq: last,
      limit: PAGE,
    });
    for (const chunk of chunks) {
      if (closed.signal.aborted) break;
      await write(
        res,
        `id: ${chunk.seq}\nevent: chunk\ndata: ${JSON.stringify(chunk)}\n\n`,
        closed.signal,
      );
      last = chunk.seq;
      lastWrite = Date.now();
    }
    if (chunks.length === PAGE) continue;
    if (ended) {
      const run = await source.runsStore.getRun(runId);
      await write(
        res,
        `event: end\ndata: ${JSON.stringify({
          status: run?.status,
          reason: run?.reason ?? null,
        })}\n\n`,
        closed.signal,
      );
      break;
    }
    const run = await source.runsStore.getRun(runId);
    if (!run || isFinalRunStatus(run.status)) {
      // One more read: lines written just before the run ended. A run that
      // recovery interrupted gets its closing lines just after, from
      // whichever instance noticed: give them a moment.
      if (run?.status === 'interrupted') {
        await source.events.wait(runId, POLL_MS, closed.signal);
      }
      ended = true;
      continue;
    }
    if (Date.now() - lastWrite >= KEEP_ALIVE_MS) {
      await write(res, ': keep-alive\n\n', closed.signal);
      lastWrite = Date.now();
    }
    await source.events.wait(runId, POLL_MS, closed.signal);
  }
  res.end();
}
