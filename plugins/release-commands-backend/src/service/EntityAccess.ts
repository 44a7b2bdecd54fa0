import {
  BackstageCredentials,
  HttpAuthService,
  PermissionsService,
} from '@backstage/backend-plugin-api';
import { NotAllowedError } from '@backstage/errors';
import {
  AuthorizeResult,
  ResourcePermission,
} from '@backstage/plugin-permission-common';
import { RunTrigger } from '@release-commands/backstage-plugin-release-commands-common';
import { Request } from 'express';

/** Who is asking, in the form stored as createdBy / updatedBy. */
export function describeActor(credentials: BackstageCredentials): string {
  const principal = credentials.principal as
    | { type: 'user'; userEntityRef: string }
    | { type: 'service'; subject: string }
    | { type: string };
  if ('userEntityRef' in principal) return principal.userEntityRef;
  if ('subject' in principal) return principal.subject;
  return principal.type;
}

const SCAFFOLDER_PLUGIN_ID = 'scaffolder';

/**
 * What started a run, as the credentials tell it (a client cannot say): a
 * template when the scaffolder calls on behalf of the user who started the
 * task, a person from the entity page (or their own client) for any other
 * user, and a pipeline for a service.
 */
export function triggerOf(credentials: BackstageCredentials): RunTrigger {
  const principal = credentials.principal as
    | { type: 'user'; actor?: { subject: string } }
    | { type: string };
  if (principal.type !== 'user') return 'pipeline';
  return 'actor' in principal &&
    principal.actor?.subject === `plugin:${SCAFFOLDER_PLUGIN_ID}`
    ? 'template'
    : 'manual';
}

/**
 * Authenticates a request and checks one catalog-entity permission on one
 * entity, so a policy can say "owners only". A refusal is a 403 naming what
 * was refused; nothing has been read or written by then.
 */
export class EntityAccess {
  constructor(
    private readonly httpAuth: HttpAuthService,
    private readonly permissions: PermissionsService,
  ) {}

  /**
   * Authenticates, and checks `permission` like {@link EntityAccess.check},
   * deciding `also` in the same call.
   */
  async authorize(
    req: Request,
    permission: ResourcePermission<'catalog-entity'>,
    entityRef: string,
    also: ResourcePermission<'catalog-entity'>[] = [],
  ): Promise<{
    credentials: BackstageCredentials;
    actor: string;
    granted: boolean[];
  }> {
    const credentials = await this.authenticate(req);
    const granted = await this.check(credentials, permission, entityRef, also);
    return { credentials, actor: describeActor(credentials), granted };
  }

  /** Who is asking; 401 for nobody. */
  async authenticate(req: Request): Promise<BackstageCredentials> {
    return this.httpAuth.credentials(req, { allow: ['user', 'service'] });
  }

  /**
   * 403 unless `permission` is granted on the entity; resolves which of
   * `also` are, decided in the same call (one round trip to the permission
   * backend, however many a route needs).
   */
  async check(
    credentials: BackstageCredentials,
    permission: ResourcePermission<'catalog-entity'>,
    entityRef: string,
    also: ResourcePermission<'catalog-entity'>[] = [],
  ): Promise<boolean[]> {
    const decisions = await this.permissions.authorize(
      [permission, ...also].map(p => ({
        permission: p,
        resourceRef: entityRef,
      })),
      { credentials },
    );
    const [granted, ...others] = decisions.map(
      decision => decision.result === AuthorizeResult.ALLOW,
    );
    if (!granted) throw notAllowed(permission, entityRef);
    return others;
  }
}

/** The 403 that names what was refused. */
export function notAllowed(
  permission: ResourcePermission<'catalog-entity'>,
  entityRef: string,
): NotAllowedError {
  return new NotAllowedError(`Not allowed: ${permission.name} on ${entityRef}`);
}
