import {
  isFinalRunStatus,
  RunLogChunk,
} from '@release-commands/backstage-plugin-release-commands-common';
import { Request, Response } from 'express';
import { once } from 'node:events';
import { RunLogStore } from '../database/RunLogStore';
import { RunsStore } from '../database/RunsStore';
import { LogFeed, RunEvents, Wake } from '../runs/RunEvents';

/** Chunks per read: at most a few MB, so one read never holds the loop. */
const PAGE = 64;
const POLL_MS = 1000;
const KEEP_ALIVE_MS = 15_000;

type LogSource = {
  runsStore: Pick<RunsStore, 'getRun'>;
  logStore: Pick<RunLogStore, 'readLog'>;
  events: RunEvents;
  /** What this reader is shown of each chunk; the chunk itself by default. */
  view?: (chunk: RunLogChunk) => RunLogChunk;
};

/**
 * Writes, waiting for the client to take it when its buffer is full.
 * @internal exported for tests
 */
export async function writeToClient(
  res: Response,
  data: string | Buffer,
  closed: AbortSignal,
) {
  if (!res.write(data) && !closed.aborted) {
    // With the signal, rather than racing a wait for its abort: that left a
    // listener on it at every full buffer, thousands over a long log, and
    // each new one cost more to add than the last.
    await once(res, 'drain', { signal: closed }).catch(error => {
      if (!closed.aborted) throw error;
    });
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
      await writeToClient(
        res,
        (source.view?.(chunk) ?? chunk).text,
        closed.signal,
      );
      last = chunk.seq;
    }
    if (chunks.length < PAGE || closed.signal.aborted) break;
  }
  res.end();
}

/**
 * A chunk as an event, in UTF-8 bytes: encoded once however many followers
 * send it (a string would be encoded again for each of them), and the text
 * it was made from is garbage at once rather than kept with the chunk.
 */
const encoded = new WeakMap<RunLogChunk, Buffer>();
function chunkEvent(chunk: RunLogChunk): Buffer {
  let event = encoded.get(chunk);
  if (event === undefined) {
    // Written into one buffer part by part: the event as one string would
    // be copied once more, flat, to be encoded.
    const head = `id: ${chunk.seq}\nevent: chunk\ndata: `;
    const data = JSON.stringify(chunk);
    const headBytes = Buffer.byteLength(head);
    const dataBytes = Buffer.byteLength(data);
    event = Buffer.allocUnsafe(headBytes + dataBytes + 2);
    event.write(head, 0);
    event.write(data, headBytes);
    event.write('\n\n', headBytes + dataBytes);
    encoded.set(chunk, event);
  }
  return event;
}

/**
 * The log as server-sent events: every chunk (`event: chunk`, `id` = its
 * sequence number, so `Last-Event-ID` resumes) as it is written, then
 * `event: end` with the run's final status.
 *
 * What is stored when the follower comes is read from the store. After
 * that, a run written in this process reaches every follower from its
 * writer, without reading back; the store is read again only by a follower
 * that fell behind. Runs written by another replica are followed by polling.
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
  // Before the first read, so that no write falls between the two.
  const feed = source.events.follow(runId);
  try {
    await followLog(res, source, feed, afterSeq, closed.signal);
  } finally {
    feed.close();
  }
  res.end();
}

async function followLog(
  res: Response,
  source: LogSource,
  feed: LogFeed,
  afterSeq: number,
  closed: AbortSignal,
) {
  const { runId } = feed;
  let last = afterSeq;
  let lastWrite = Date.now();
  const send = async (chunk: RunLogChunk) => {
    await writeToClient(res, chunkEvent(source.view?.(chunk) ?? chunk), closed);
    last = chunk.seq;
    lastWrite = Date.now();
  };
  /** Sends what the store has after `last`. */
  const readStored = async () => {
    for (;;) {
      const chunks = await source.logStore.readLog(runId, {
        afterSeq: last,
        limit: PAGE,
      });
      for (const chunk of chunks) {
        if (closed.aborted) return;
        await send(chunk);
      }
      if (chunks.length < PAGE || closed.aborted) return;
    }
  };

  await writeToClient(res, 'retry: 2000\n\n', closed);
  await readStored();
  let ending = false;
  let woken: Wake = 'change';
  while (!closed.aborted) {
    const writes = feed.take();
    if (writes === 'overflow') {
      await readStored();
    } else {
      for (const logWrite of writes) {
        if (logWrite.through <= last) continue;
        // Written before this follower came, or cut while it fell behind.
        if (logWrite.after > last) await readStored();
        for (const chunk of logWrite.chunks) {
          if (closed.aborted) return;
          if (chunk.seq > last) await send(chunk);
        }
        last = Math.max(last, logWrite.through);
      }
    }
    // A write here does not end the run: only a change or a poll reads it.
    if (woken !== 'write' || !feed.live) {
      if (!feed.live || ending) {
        // Another replica's run, or one whose writer here just closed.
        await readStored();
      }
      const run = await source.runsStore.getRun(runId);
      if (ending) {
        await writeToClient(
          res,
          `event: end\ndata: ${JSON.stringify({
            status: run?.status,
            reason: run?.reason ?? null,
          })}\n\n`,
          closed,
        );
        return;
      }
      if (!run || isFinalRunStatus(run.status)) {
        // One more read: lines written just before the run ended. A run that
        // recovery interrupted gets its closing lines just after, from
        // whichever instance noticed: give them a moment.
        if (run?.status === 'interrupted') {
          await feed.wait(POLL_MS, closed);
        }
        ending = true;
        woken = 'change';
        continue;
      }
    }
    if (Date.now() - lastWrite >= KEEP_ALIVE_MS) {
      await writeToClient(res, ': keep-alive\n\n', closed);
      lastWrite = Date.now();
    }
    // A writer here hands over its writes and says when the run ends; one
    // elsewhere is polled.
    woken = await feed.wait(feed.live ? KEEP_ALIVE_MS : POLL_MS, closed);
  }
}
