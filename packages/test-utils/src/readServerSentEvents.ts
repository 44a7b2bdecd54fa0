import { createParser, EventSourceMessage } from 'eventsource-parser';

/**
 * Reads a `text/event-stream` response event by event, as it arrives, until
 * the server ends it or the caller stops iterating.
 */
export async function* readServerSentEvents(
  response: Response,
): AsyncGenerator<EventSourceMessage> {
  if (!response.ok || !response.body) {
    throw new Error(
      `Expected an event stream, got ${
        response.status
      }: ${await response.text()}`,
    );
  }
  const queue: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: event => queue.push(event) });
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      parser.feed(decoder.decode(value, { stream: true }));
      while (queue.length > 0) yield queue.shift()!;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
