import { useApi } from '@backstage/core-plugin-api';
import {
  followRunLog,
  RunLogChunk,
  RunLogEnd,
} from '@release-commands/backstage-plugin-release-commands-common';
import { useEffect, useRef, useState } from 'react';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { styleChunk } from './styleChunk';

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

/**
 * Follows a run's log from its first line to the run's end with the shared
 * resuming follower: when the stream breaks (a network blip, a backend
 * restart) it follows again after the last sequence number received, so
 * nothing is lost or shown twice. A refusal (403, 404) is final.
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
    let reconnecting = false;
    (async () => {
      try {
        const end = await followRunLog(api, runId, {
          signal,
          // Someone is watching: keep trying while the page is open.
          giveUpAfterMs: Number.POSITIVE_INFINITY,
          onChunk: chunk => {
            onChunk(chunk);
            // Only the first chunk after a reconnect changes the phase.
            if (reconnecting) {
              reconnecting = false;
              setState(s => ({ ...s, phase: 'following' }));
            }
          },
          onReconnect: () => {
            reconnecting = true;
            render();
            setState(s => ({ ...s, phase: 'reconnecting' }));
          },
        });
        render();
        setState(s => ({ ...s, phase: 'ended' }));
        onEnd.current?.(end);
      } catch (error) {
        if (signal.aborted) return;
        render();
        setState(s => ({ ...s, phase: 'failed', error: error as Error }));
      }
    })();

    return () => {
      controller.abort();
      clearTimeout(renderTimer);
    };
  }, [api, runId]);

  return state;
}
