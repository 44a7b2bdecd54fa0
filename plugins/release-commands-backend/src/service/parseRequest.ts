import { InputError } from '@backstage/errors';
import {
  describeZodError,
  entityRefPartsSchema,
  toEntityRef,
} from '@release-commands/backstage-plugin-release-commands-common';
import { Request } from 'express';
import { z } from 'zod';

/** Parses a request part with a shared schema; a refusal names each field. */
export function parseRequest<T extends z.ZodType>(
  schema: T,
  value: unknown,
  part: 'body' | 'query' | 'path',
): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const described = describeZodError(result.error);
    throw new InputError(
      result.error.issues.every(i => i.path.length === 0)
        ? `${part}: ${described}`
        : described,
    );
  }
  return result.data;
}

/** The normalised entity ref of an `/entities/:kind/:namespace/:name` route. */
export function entityRefFromPath(req: Request): string {
  const { kind, namespace, name } = req.params;
  return toEntityRef(
    parseRequest(entityRefPartsSchema, { kind, namespace, name }, 'path'),
  );
}
