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

  async authorize(
    req: Request,
    permission: ResourcePermission<'catalog-entity'>,
    entityRef: string,
  ): Promise<{ credentials: BackstageCredentials; actor: string }> {
    const credentials = await this.authenticate(req);
    await this.check(credentials, permission, entityRef);
    return { credentials, actor: describeActor(credentials) };
  }

  /** Who is asking; 401 for nobody. */
  async authenticate(req: Request): Promise<BackstageCredentials> {
    return this.httpAuth.credentials(req, { allow: ['user', 'service'] });
  }

  /** Whether the permission is granted on the entity. */
  async allows(
    credentials: BackstageCredentials,
    permission: ResourcePermission<'catalog-entity'>,
    entityRef: string,
  ): Promise<boolean> {
    const [decision] = await this.permissions.authorize(
      [{ permission, resourceRef: entityRef }],
      { credentials },
    );
    return decision.result === AuthorizeResult.ALLOW;
  }

  /** 403 unless the permission is granted on the entity. */
  async check(
    credentials: BackstageCredentials,
    permission: ResourcePermission<'catalog-entity'>,
    entityRef: string,
  ): Promise<void> {
    if (!(await this.allows(credentials, permission, entityRef))) {
      throw new NotAllowedError(
        `Not allowed: ${permission.name} on ${entityRef}`,
      );
    }
  }
}
