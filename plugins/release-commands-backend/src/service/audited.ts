import { AuditorService } from '@backstage/backend-plugin-api';
import { JsonObject } from '@backstage/types';
import { Request } from 'express';

/**
 * Runs a write inside an audit event that records its outcome; the write
 * returns its result and what the event should add about it.
 */
export async function audited<T>(
  auditor: AuditorService,
  req: Request,
  event: { eventId: string; meta: JsonObject },
  write: () => Promise<{ result: T; meta: JsonObject }>,
): Promise<T> {
  const auditorEvent = await auditor.createEvent({
    eventId: event.eventId,
    severityLevel: 'medium',
    request: req,
    meta: event.meta,
  });
  try {
    const outcome = await write();
    await auditorEvent.success({ meta: outcome.meta });
    return outcome.result;
  } catch (error) {
    await auditorEvent.fail({ error: error as Error });
    throw error;
  }
}
