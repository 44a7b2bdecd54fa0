import { stringifyEntityRef } from '@backstage/catalog-model';
import {
  useAppLocation,
  useAppSearchParams,
} from '@backstage/frontend-plugin-api';
import { useEntity } from '@backstage/plugin-catalog-react';
import Grid from '@material-ui/core/Grid';
import { RELEASE_COMMANDS_IMAGE_ANNOTATION } from '../../annotations';
import { CommandDurations } from '../CommandDurations/CommandDurations';
import { CommandsEditor } from '../CommandsEditor/CommandsEditor';
import { CommandsHistory } from '../CommandsHistory/CommandsHistory';
import { RunPage } from '../RunPage/RunPage';
import { RunsTable } from '../RunsTable/RunsTable';

/** The query parameter naming the run to show, as in `...?run=<id>`. */
export const RUN_QUERY_PARAMETER = 'run';

/** The query parameter that shows the history of the commands: `...?history`. */
export const HISTORY_QUERY_PARAMETER = 'history';

/**
 * The "Release commands" tab of an entity page: the commands and their runs,
 * one run when the URL names it (`?run=<id>`), or the history of the
 * commands (`?history`).
 *
 * @public
 */
export function EntityReleaseCommandsContent() {
  const { entity } = useEntity();
  const entityRef = stringifyEntityRef(entity);
  const { pathname } = useAppLocation();
  const [searchParams, setSearchParams] = useAppSearchParams();
  const runId = searchParams.get(RUN_QUERY_PARAMETER);
  const historyHref = `${pathname}?${HISTORY_QUERY_PARAMETER}`;

  if (runId) {
    return (
      <RunPage
        key={runId}
        runId={runId}
        allRunsHref={pathname}
        historyHref={historyHref}
      />
    );
  }
  if (searchParams.has(HISTORY_QUERY_PARAMETER)) {
    return <CommandsHistory entityRef={entityRef} backHref={pathname} />;
  }
  return (
    <Grid container spacing={3}>
      <Grid item xs={12}>
        <CommandsEditor entityRef={entityRef} historyHref={historyHref} />
      </Grid>
      <Grid item xs={12}>
        <CommandDurations entityRef={entityRef} />
      </Grid>
      <Grid item xs={12}>
        <RunsTable
          entityRef={entityRef}
          defaultImage={
            entity.metadata.annotations?.[RELEASE_COMMANDS_IMAGE_ANNOTATION]
          }
          runHref={id =>
            `${pathname}?${new URLSearchParams({ [RUN_QUERY_PARAMETER]: id })}`
          }
          onOpenRun={id => setSearchParams({ [RUN_QUERY_PARAMETER]: id })}
        />
      </Grid>
    </Grid>
  );
}
