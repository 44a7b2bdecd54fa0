import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import { releaseCommandsUpdatePermission } from '@release-commands/backstage-plugin-release-commands-common';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { LoadError } from '../LoadError/LoadError';
import { CommandsEditorContent } from './CommandsEditorContent';

/**
 * The entity's release commands: loads the list and the update permission,
 * then shows the editor (or the list alone, without the permission).
 */
export function CommandsEditor(props: {
  entityRef: string;
  /** Where the history of the commands is shown, if the page has it. */
  historyHref?: string;
}) {
  const { entityRef } = props;
  const api = useApi(releaseCommandsApiRef);
  const permission = usePermission({
    permission: releaseCommandsUpdatePermission,
    resourceRef: entityRef,
  });
  const loaded = useAsyncRetry(
    () => api.getCommands(entityRef),
    [api, entityRef],
  );
  // Read beside the list, not before it: a repository that is slow or down
  // does not keep the tab's own commands from being edited.
  const declared = useAsyncRetry(
    () => api.getDeclaredCommands(entityRef),
    [api, entityRef],
  );

  if (loaded.loading && !loaded.value) {
    return (
      <InfoCard title="Release commands">
        <Progress />
      </InfoCard>
    );
  }
  if (loaded.error || !loaded.value) {
    return (
      <InfoCard title="Release commands">
        <LoadError
          what="the release commands"
          error={loaded.error ?? new Error('No release commands were returned')}
          onRetry={loaded.retry}
        />
      </InfoCard>
    );
  }
  return (
    <CommandsEditorContent
      entityRef={entityRef}
      historyHref={props.historyHref}
      list={loaded.value}
      declarations={declared.value?.declarations ?? []}
      declarationsError={declared.error}
      onRetryDeclarations={declared.retry}
      editable={permission.allowed}
      permissionKnown={!permission.loading}
    />
  );
}
