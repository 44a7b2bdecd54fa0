import { InfoCard, Progress } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  CommandRevision,
  describeError,
  releaseCommandsUpdatePermission,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import IconButton from '@material-ui/core/IconButton';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import ArrowBackIcon from '@material-ui/icons/ArrowBack';
import KeyboardArrowDownIcon from '@material-ui/icons/KeyboardArrowDown';
import KeyboardArrowUpIcon from '@material-ui/icons/KeyboardArrowUp';
import Alert from '@material-ui/lab/Alert';
import { useState } from 'react';
import useAsyncRetry from 'react-use/esm/useAsyncRetry';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { formatTime } from '../../lib/format';
import { ConfirmDialog } from '../ConfirmDialog/ConfirmDialog';
import { IconLink } from '../IconLink/IconLink';
import { LoadError } from '../LoadError/LoadError';
import { describeChanges, describeWrite } from './describeRevision';

/** How many revisions a page (and each "Show older") brings. */
export const HISTORY_PAGE_SIZE = 20;

/**
 * Every write to the entity's commands, newest first, each with the list it
 * left; someone who may update the commands can bring an older list back.
 * Shown in the tab for `?history`.
 */
export function CommandsHistory(props: {
  entityRef: string;
  backHref: string;
}) {
  const { entityRef } = props;
  const api = useApi(releaseCommandsApiRef);
  const permission = usePermission({
    permission: releaseCommandsUpdatePermission,
    resourceRef: entityRef,
  });
  const [older, setOlder] = useState<{
    revisions: CommandRevision[];
    nextCursor?: string;
  }>();
  const [loadingOlder, setLoadingOlder] = useState(false);
  const [olderError, setOlderError] = useState<string>();
  const first = useAsyncRetry(async () => {
    const page = await api.listRevisions(entityRef, {
      limit: HISTORY_PAGE_SIZE,
    });
    setOlder(undefined);
    return page;
  }, [api, entityRef]);
  const [restoring, setRestoring] = useState<CommandRevision>();
  const [busy, setBusy] = useState(false);
  const [restoreError, setRestoreError] = useState<string>();

  const back = (
    <Box mb={2}>
      <IconLink to={props.backHref} icon={<ArrowBackIcon fontSize="small" />}>
        All release commands and runs
      </IconLink>
    </Box>
  );

  if (!first.value) {
    return (
      <>
        {back}
        <InfoCard title="History of the release commands">
          {first.error ? (
            <LoadError
              what="the history of the commands"
              error={first.error}
              onRetry={first.retry}
            />
          ) : (
            <Progress />
          )}
        </InfoCard>
      </>
    );
  }

  const revisions = [...first.value.revisions, ...(older?.revisions ?? [])];
  const nextCursor = older ? older.nextCursor : first.value.nextCursor;
  const current = first.value.revisions[0]?.revision;

  const handleShowOlder = async () => {
    setLoadingOlder(true);
    setOlderError(undefined);
    try {
      const page = await api.listRevisions(entityRef, {
        limit: HISTORY_PAGE_SIZE,
        cursor: nextCursor,
      });
      setOlder({
        revisions: [...(older?.revisions ?? []), ...page.revisions],
        nextCursor: page.nextCursor,
      });
    } catch (error) {
      setOlderError(describeError(error));
    } finally {
      setLoadingOlder(false);
    }
  };

  const handleRestore = async (from: CommandRevision) => {
    setBusy(true);
    setRestoreError(undefined);
    try {
      await api.restoreRevision(entityRef, from.revision, {
        revision: current,
      });
    } catch (error) {
      setRestoreError(
        `Could not restore revision ${from.revision}: ${describeError(error)}`,
      );
    } finally {
      // After a conflict too: the next try then names the newest revision.
      setBusy(false);
      setRestoring(undefined);
      first.retry();
    }
  };

  return (
    <>
      {back}
      <InfoCard
        title="History of the release commands"
        subheader={
          !permission.loading && !permission.allowed
            ? 'Every change to the list, newest first, with the commands it left. Restoring one needs release-commands.commands.update on this entity.'
            : 'Every change to the list, newest first, with the commands it left.'
        }
      >
        {restoreError && (
          <Box mb={2}>
            <Alert severity="error">{restoreError}</Alert>
          </Box>
        )}
        {revisions.length === 0 ? (
          <Typography>
            No changes are recorded yet: the history starts with the next change
            to these commands.
          </Typography>
        ) : (
          <Table size="small" aria-label="Revisions of the release commands">
            <TableHead>
              <TableRow>
                <TableCell padding="checkbox" />
                <TableCell>Revision</TableCell>
                <TableCell>When</TableCell>
                <TableCell>Who</TableCell>
                <TableCell>Change</TableCell>
                <TableCell>What changed</TableCell>
                <TableCell />
              </TableRow>
            </TableHead>
            <TableBody>
              {revisions.map(revision => (
                <RevisionRow
                  key={revision.revision}
                  revision={revision}
                  current={revision.revision === current}
                  canRestore={permission.allowed}
                  busy={busy}
                  onRestore={() => setRestoring(revision)}
                />
              ))}
            </TableBody>
          </Table>
        )}
        {olderError && (
          <Box mt={2}>
            <Alert severity="error">
              Could not load older revisions: {olderError}
            </Alert>
          </Box>
        )}
        {nextCursor && (
          <Box mt={2}>
            <Button
              variant="outlined"
              onClick={handleShowOlder}
              disabled={loadingOlder}
            >
              {loadingOlder ? 'Loading…' : 'Show older'}
            </Button>
          </Box>
        )}
      </InfoCard>
      {restoring && (
        <ConfirmDialog
          open
          title={`Restore revision ${restoring.revision}?`}
          confirmLabel="Restore"
          busy={busy}
          onConfirm={() => handleRestore(restoring)}
          onClose={() => setRestoring(undefined)}
        >
          Its {restoring.commands.length} commands replace the current list as a
          new revision; the next deploy runs them. The current list stays in the
          history.
        </ConfirmDialog>
      )}
    </>
  );
}

function RevisionRow(props: {
  revision: CommandRevision;
  current: boolean;
  canRestore: boolean;
  busy: boolean;
  onRestore: () => void;
}) {
  const { revision, current } = props;
  const [open, setOpen] = useState(false);
  return (
    <>
      <TableRow>
        <TableCell padding="checkbox">
          <IconButton
            size="small"
            aria-expanded={open}
            aria-label={`Commands of revision ${revision.revision}`}
            onClick={() => setOpen(!open)}
          >
            {open ? <KeyboardArrowUpIcon /> : <KeyboardArrowDownIcon />}
          </IconButton>
        </TableCell>
        <TableCell>
          {revision.revision}
          {current && ' (current)'}
        </TableCell>
        <TableCell>{formatTime(revision.changedAt)}</TableCell>
        <TableCell>{revision.changedBy ?? 'unknown'}</TableCell>
        <TableCell>{describeWrite(revision)}</TableCell>
        <TableCell>{describeChanges(revision.changes)}</TableCell>
        <TableCell align="right">
          {!current && props.canRestore && (
            <Button
              size="small"
              onClick={props.onRestore}
              disabled={props.busy}
              aria-label={`Restore revision ${revision.revision}`}
            >
              Restore
            </Button>
          )}
        </TableCell>
      </TableRow>
      {open && (
        <TableRow>
          <TableCell />
          <TableCell colSpan={6}>
            {revision.commands.length === 0 ? (
              <Typography variant="body2">No commands.</Typography>
            ) : (
              <ol aria-label={`The commands of revision ${revision.revision}`}>
                {revision.commands.map(command => (
                  <li key={command.id}>
                    {command.label}: <code>{command.command}</code>
                    {!command.enabled && ' (disabled)'}
                  </li>
                ))}
              </ol>
            )}
          </TableCell>
        </TableRow>
      )}
    </>
  );
}
