import { UserInfoService } from '@backstage/backend-plugin-api';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  AuthorizeResult,
  isPermission,
  PolicyDecision,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { releaseCommandsPermissions } from '@release-commands/backstage-plugin-release-commands-common';

/**
 * Release commands for the entity's owners only; everything else (the
 * catalog, the scaffolder, ...) stays allowed.
 *
 * For a release-commands permission a user gets a conditional decision: the
 * catalog's `isEntityOwner` rule with the user's ownership claims (the user
 * and the groups they are a member of, as resolved at sign-in). The caller
 * always names the entity, so the permission backend has the catalog apply
 * the rule to it and answers ALLOW or DENY.
 *
 * Services never reach a policy: the permissions service decides for them
 * from their token's access restrictions (for a pipeline's static token, the
 * `accessRestrictions` of its `backend.auth.externalAccess` entry). Restrict
 * a pipeline there, e.g. to `release-commands.runs.create`. What does reach
 * the policy without a user is an unauthenticated request, which is denied.
 */
export class OwnersOnlyPolicy implements PermissionPolicy {
  constructor(private readonly userInfo: UserInfoService) {}

  async handle(
    request: PolicyQuery,
    user?: PolicyQueryUser,
  ): Promise<PolicyDecision> {
    const permission = releaseCommandsPermissions.find(p =>
      isPermission(request.permission, p),
    );
    if (!permission) {
      return { result: AuthorizeResult.ALLOW };
    }
    if (!user) {
      return { result: AuthorizeResult.DENY };
    }
    // `user.info` is deprecated; the service gives the same claims.
    const { ownershipEntityRefs } = await this.userInfo.getUserInfo(
      user.credentials,
    );
    return createCatalogConditionalDecision(
      permission,
      catalogConditions.isEntityOwner({ claims: ownershipEntityRefs }),
    );
  }
}
