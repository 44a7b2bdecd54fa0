import { BackstageCredentials } from '@backstage/backend-plugin-api';
import { Entity } from '@backstage/catalog-model';
import { NotFoundError } from '@backstage/errors';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { ReleaseCommandsStore } from '../database/ReleaseCommandsStore';

/**
 * Commands are kept, and runs started, only for entities the catalog knows:
 * otherwise anyone allowed to write commands under a permissive policy
 * could seed them for a name no entity has yet (or one a deleted entity
 * freed), for the next owner's pipeline to run with its secrets.
 */
export class KnownEntities {
  constructor(
    private readonly catalog: Pick<CatalogService, 'getEntityByRef'>,
    private readonly store: Pick<ReleaseCommandsStore, 'bindToEntity'>,
  ) {}

  /**
   * 404 unless the catalog, asked with the caller's credentials, has the
   * entity; then ties the ref's commands to it, so that those of an entity
   * deleted since, whose name it took, are gone. Answers the entity, as
   * the caller may see it.
   */
  async require(
    credentials: BackstageCredentials,
    entityRef: string,
    actor: string,
  ): Promise<Entity> {
    const entity = await this.catalog.getEntityByRef(entityRef, {
      credentials,
    });
    if (!entity) {
      throw new NotFoundError(
        `${entityRef} is not in the catalog (or not visible to you): release commands are kept and run only for entities the catalog knows`,
      );
    }
    const uid = entity.metadata.uid;
    if (uid) {
      await this.store.bindToEntity({ entityRef, entityUid: uid, actor });
    }
    return entity;
  }
}
