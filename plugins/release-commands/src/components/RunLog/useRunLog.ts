import { useApi } from '@backstage/core-plugin-api';
import {
  RunLogChunk,
  RunLogEnd,
} from '@internal/backstage-plugin-release-commands-common';
import { useEffect, useRef, useState } from 'react';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { responseStatus } from '../../lib/errors';
import { styleChunk } from './styleChunk';

/** How long to wait before following again after the stream broke. */
export const LOG_RESUME_DELAY_MS = 1500;
// Lines can arrive thousands a second; render them in batches.
const RENDER_INTERVAL_MS = 100;

export type RunLogState = {
  /** Everything received so far, in order, as the commands wrote it. */
  text: string;
  /** The same with the plugin's own lines in bold and stderr in red. */
  styledText: string;
  phase: 'following' | 'reconnecting' | 'ended' | 'failed';
  error?: Error;
};

function wait(ms: number, signal: AbortSignal) {
  return new Promise<void>(resolve => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Follows a run's log from its first line to the run's end. When the stream
 * breaks (a network blip, a backend restart) it waits a moment and follows
 * again after the last sequence number received, so nothing is lost or
 * shown twice. A refusal (403, 404) is final.
 */
export function useRunLog(
  runId: string,
  options: { onEnd?: (end: RunLogEnd) => void } = {},
): RunLogState {
  const api = useApi(releaseCommandsApiRef);
  const [state, setState] = useState<RunLogState>({
    text: '',
    styledText: '',
    phase: 'following',
  });
  const onEnd = useRef(options.onEnd);
  onEnd.current = options.onEnd;

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let lastSeq: number | undefined;
    let text = '';
    let styledText = '';
    let renderTimer: ReturnType<typeof setTimeout> | undefined;
    const render = () => {
      clearTimeout(renderTimer);
      renderTimer = undefined;
      if (!signal.aborted) setState(s => ({ ...s, text, styledText }));
    };
    const onChunk = (chunk: RunLogChunk) => {
      if (lastSeq !== undefined && chunk.seq <= lastSeq) return;
      lastSeq = chunk.seq;
      text += chunk.text;
      styledText += styleChunk(chunk);
      renderTimer ??= setTimeout(render, RENDER_INTERVAL_MS);
    };

    setState({ text: '', styledText: '', phase: 'following' });
    (async () => {
      while (!signal.aborted) {
        try {
          const end = await api.followLog(runId, {
            after: lastSeq,
            signal,
            onChunk,
          });
          render();
          setState(s => ({ ...s, phase: 'ended' }));
          onEnd.current?.(end);
          return;
        } catch (error) {
          if (signal.aborted) return;
          render();
          const status = responseStatus(error);
          if (status !== undefined && status >= 400 && status < 500) {
            setState(s => ({ ...s, phase: 'failed', error: error as Error }));
            return;
          }
          setState(s => ({ ...s, phase: 'reconnecting' }));
          await wait(LOG_RESUME_DELAY_MS, signal);
          if (!signal.aborted) setState(s => ({ ...s, phase: 'following' }));
        }
      }
    })();

    return () => {
      controller.abort();
      clearTimeout(renderTimer);
    };
  }, [api, runId]);

  return state;
}
