import { stringifyEntityRef } from '@backstage/catalog-model';
import { InfoCard } from '@backstage/core-components';
import { useEntity } from '@backstage/plugin-catalog-react';
import Typography from '@material-ui/core/Typography';

/**
 * The "Release commands" tab of an entity page.
 *
 * @public
 */
export function EntityReleaseCommandsContent() {
  const { entity } = useEntity();
  return (
    <InfoCard title="Release commands">
      <Typography variant="body1" paragraph>
        Release commands run during each deploy of{' '}
        <code>{stringifyEntityRef(entity)}</code>, one after another, each in a
        fresh container started from the new image: database migrations, content
        repairs, self-tests. If one fails, the deploy does not go on.
      </Typography>
      <Typography variant="body2" color="textSecondary" paragraph>
        Work that defines the runtime environment, such as compiling static
        files or translations, belongs in the Dockerfile instead.
      </Typography>
      <Typography variant="body2" color="textSecondary">
        A command that succeeds is not the end of a deploy: a later check can
        still fail, leaving its changes (a migrated database) in place while the
        previous release keeps serving.
      </Typography>
    </InfoCard>
  );
}
