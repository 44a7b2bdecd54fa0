import { InfoCard } from '@backstage/core-components';
import { useApi } from '@backstage/core-plugin-api';
import {
  CommandDeclaration,
  describeError,
  ReleaseCommandList,
  shortRevision,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import AddIcon from '@material-ui/icons/Add';
import HistoryIcon from '@material-ui/icons/History';
import Alert from '@material-ui/lab/Alert';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { releaseCommandsApiRef } from '../../api/ReleaseCommandsApi';
import { responseStatus } from '../../lib/errors';
import { ConfirmDialog } from '../ConfirmDialog/ConfirmDialog';
import { IconLink } from '../IconLink/IconLink';
import { CommandDialog } from './CommandDialog';
import { NoCommandsYet } from './NoCommandsYet';
import { CommandsList } from './CommandsList';
import {
  DraftCommand,
  commandsDraftReducer,
  hasUnsavedChanges,
  initialDraft,
  toCommandInputs,
} from './commandsDraft';

const useStyles = makeStyles(theme => ({
  footer: {
    display: 'flex',
    alignItems: 'center',
    gap: theme.spacing(1),
    marginTop: theme.spacing(2),
  },
  status: { flex: 1 },
  rules: { marginTop: theme.spacing(1) },
  visuallyHidden: {
    position: 'absolute',
    width: 1,
    height: 1,
    overflow: 'hidden',
    clip: 'rect(0 0 0 0)',
    whiteSpace: 'nowrap',
  },
}));

function ReadOnlyNotice() {
  return (
    <Alert severity="info">
      You can see these commands but not change them: that needs the permission
      to update this entity's release commands.
    </Alert>
  );
}

/** A declaration that cannot be used, and what that means for runs. */
function DeclarationProblem(props: { declaration: CommandDeclaration }) {
  const { declaration } = props;
  return (
    <Alert severity="error">
      {declaration.problem}{' '}
      {declaration.source === 'repository'
        ? 'Runs fail before step 1 until it is fixed.'
        : 'A run on an image with this label fails before step 1.'}
    </Alert>
  );
}

/**
 * Where declared commands run among the tab's own: the rule the backend's
 * run order follows, said once under the list.
 */
const RUN_ORDER_RULE =
  "Runs go in the order of the # column: the image's before commands, the " +
  "repository's before commands, this tab's enabled commands, the " +
  "repository's after commands, then the image's after commands. A declared " +
  "command's position (before or after) is set where it is declared.";

/** Where the declared rows come from, and where they are changed. */
function DeclarationRule(props: { declaration: CommandDeclaration }) {
  const { declaration } = props;
  const revision = declaration.revision
    ? ` (${shortRevision(declaration.revision)})`
    : '';
  return (
    <Typography variant="body2" color="textSecondary">
      {declaration.source === 'repository' ? (
        <>
          Rows marked Repository are declared in{' '}
          <code>{declaration.location}</code>
          {revision}, named by the entity's release-commands/file annotation:
          change them there.
        </>
      ) : (
        <>
          Rows marked Image were declared by the release-commands/commands label
          of <code>{declaration.location}</code>
          {revision}, the image of the latest run: the next image may declare
          others.
        </>
      )}
    </Typography>
  );
}

type OpenDialog =
  | { kind: 'add' }
  | { kind: 'edit'; command: DraftCommand }
  | { kind: 'delete'; command: DraftCommand };

type SaveState =
  | { kind: 'idle' | 'saving' | 'saved' | 'conflict' | 'reloading' }
  | { kind: 'error'; message: string };

type FocusTarget = { key: string; direction: 'up' | 'down' };

/**
 * Edits the list locally (add, edit, delete, reorder) and writes it whole on
 * save, naming the revision it read: if someone saved in between, the
 * backend answers 409 and the user is offered the current list instead of
 * silently overwriting it.
 */
export function CommandsEditorContent(props: {
  entityRef: string;
  historyHref?: string;
  list: ReleaseCommandList;
  /** What the repository and the image declare, once read. */
  declarations: CommandDeclaration[];
  /** Why the declared commands could not be read, if they could not. */
  declarationsError?: Error;
  onRetryDeclarations: () => void;
  editable: boolean;
  /** False while the permission is being checked: no notice flashes by. */
  permissionKnown: boolean;
}) {
  const { entityRef, editable } = props;
  const classes = useStyles();
  const api = useApi(releaseCommandsApiRef);
  const [draft, dispatch] = useReducer(
    commandsDraftReducer,
    props.list,
    initialDraft,
  );
  const [dialog, setDialog] = useState<OpenDialog>();
  const [save, setSave] = useState<SaveState>({ kind: 'idle' });
  const [announcement, setAnnouncement] = useState('');
  const dirty = hasUnsavedChanges(draft);
  const { defaultTimeoutSeconds } = draft.saved;

  // Keyboard moves keep focus on the moved row's button, so pressing it
  // again keeps moving the same command.
  const moveButtons = useRef(new Map<string, HTMLButtonElement>());
  const focusAfterMove = useRef<FocusTarget>();
  const moveButtonRef = useCallback(
    (key: string, direction: 'up' | 'down') =>
      (el: HTMLButtonElement | null) => {
        if (el) moveButtons.current.set(`${key}:${direction}`, el);
        else moveButtons.current.delete(`${key}:${direction}`);
      },
    [],
  );
  useEffect(() => {
    const target = focusAfterMove.current;
    focusAfterMove.current = undefined;
    if (!target) return;
    const other = target.direction === 'up' ? 'down' : 'up';
    const preferred = moveButtons.current.get(
      `${target.key}:${target.direction}`,
    );
    const button =
      preferred && !preferred.disabled
        ? preferred
        : moveButtons.current.get(`${target.key}:${other}`);
    button?.focus();
  }, [draft.commands]);

  const handleMove = (from: number, to: number, via: 'keyboard' | 'drag') => {
    const moved = draft.commands[from];
    if (!moved || to < 0 || to >= draft.commands.length || from === to) return;
    dispatch({ type: 'move', from, to });
    setAnnouncement(
      `Moved ${moved.label} to position ${to + 1} of ${draft.commands.length}.`,
    );
    if (via === 'keyboard') {
      focusAfterMove.current = {
        key: moved.key,
        direction: to < from ? 'up' : 'down',
      };
    }
  };

  const handleSave = async () => {
    setSave({ kind: 'saving' });
    try {
      const saved = await api.replaceCommands(entityRef, {
        revision: draft.saved.revision,
        commands: toCommandInputs(draft.commands),
      });
      dispatch({ type: 'load', list: saved });
      setSave({ kind: 'saved' });
    } catch (error) {
      setSave(
        responseStatus(error) === 409
          ? { kind: 'conflict' }
          : { kind: 'error', message: describeError(error) },
      );
    }
  };

  const handleReload = async () => {
    setSave({ kind: 'reloading' });
    try {
      dispatch({ type: 'load', list: await api.getCommands(entityRef) });
      setSave({ kind: 'idle' });
    } catch (error) {
      setSave({ kind: 'error', message: describeError(error) });
    }
  };

  const busy = save.kind === 'saving' || save.kind === 'reloading';
  const usable = props.declarations.filter(
    declaration => !declaration.problem && declaration.commands.length > 0,
  );
  const problems = props.declarations.filter(
    declaration => declaration.problem,
  );
  const showList = draft.commands.length > 0 || usable.length > 0;
  const addButton = editable && showList && (
    <Button
      color="primary"
      startIcon={<AddIcon />}
      onClick={() => setDialog({ kind: 'add' })}
      disabled={busy}
    >
      Add command
    </Button>
  );

  const historyLink = props.historyHref && (
    <IconLink to={props.historyHref} icon={<HistoryIcon fontSize="small" />}>
      History
    </IconLink>
  );

  return (
    <InfoCard
      title="Release commands"
      subheader="Run in this order on every deploy, each in a fresh container from the new image. The first failure stops the deploy."
      action={
        <Box display="flex" alignItems="center" gridGap={16}>
          {historyLink}
          {addButton}
        </Box>
      }
    >
      {!editable && props.permissionKnown && <ReadOnlyNotice />}
      {problems.map(declaration => (
        <DeclarationProblem
          key={`${declaration.source}:${declaration.location}`}
          declaration={declaration}
        />
      ))}
      {props.declarationsError && (
        <Alert
          severity="warning"
          action={
            <Button
              color="inherit"
              size="small"
              onClick={props.onRetryDeclarations}
            >
              Retry
            </Button>
          }
        >
          Could not read the commands declared for this entity:{' '}
          {describeError(props.declarationsError)}. The tab's own commands can
          still be changed.
        </Alert>
      )}
      {save.kind === 'conflict' && (
        <Alert
          severity="warning"
          action={
            <Button color="inherit" size="small" onClick={handleReload}>
              Reload
            </Button>
          }
        >
          Someone else changed these commands since you opened them, so your
          changes were not saved. Reload to see the current list (your unsaved
          changes will be discarded), then make them again.
        </Alert>
      )}
      {save.kind === 'error' && (
        <Alert severity="error">
          Could not save the commands: {save.message}
        </Alert>
      )}

      {!showList ? (
        <NoCommandsYet
          defaultTimeoutSeconds={defaultTimeoutSeconds}
          editable={editable}
          onAdd={() => setDialog({ kind: 'add' })}
        />
      ) : (
        <CommandsList
          commands={draft.commands}
          declarations={usable}
          defaultTimeoutSeconds={defaultTimeoutSeconds}
          editable={editable}
          onMove={handleMove}
          onToggle={(command, enabled) =>
            dispatch({
              type: 'update',
              key: command.key,
              settings: { ...command, enabled },
            })
          }
          onEdit={command => setDialog({ kind: 'edit', command })}
          onDelete={command => setDialog({ kind: 'delete', command })}
          moveButtonRef={moveButtonRef}
        />
      )}

      {usable.length > 0 && (
        <Box className={classes.rules}>
          <Typography
            variant="body2"
            color="textSecondary"
            data-testid="run-order-rule"
          >
            {RUN_ORDER_RULE}
          </Typography>
          {usable.map(declaration => (
            <DeclarationRule
              key={`${declaration.source}:${declaration.location}`}
              declaration={declaration}
            />
          ))}
        </Box>
      )}

      {editable && (
        <Box className={classes.footer}>
          <Typography
            variant="body2"
            color="textSecondary"
            className={classes.status}
          >
            {dirty && 'You have unsaved changes.'}
            {!dirty && save.kind === 'saved' && 'All changes saved.'}
          </Typography>
          <Button
            onClick={() => dispatch({ type: 'load', list: draft.saved })}
            disabled={!dirty || busy}
          >
            Discard changes
          </Button>
          <Button
            variant="contained"
            color="primary"
            onClick={handleSave}
            disabled={!dirty || busy}
          >
            {save.kind === 'saving' ? 'Saving…' : 'Save'}
          </Button>
        </Box>
      )}
      <div role="status" aria-live="polite" className={classes.visuallyHidden}>
        {announcement}
      </div>

      {(dialog?.kind === 'add' || dialog?.kind === 'edit') && (
        <CommandDialog
          open
          initial={dialog.kind === 'edit' ? dialog.command : undefined}
          defaultTimeoutSeconds={defaultTimeoutSeconds}
          onClose={() => setDialog(undefined)}
          onSubmit={settings => {
            dispatch(
              dialog.kind === 'edit'
                ? { type: 'update', key: dialog.command.key, settings }
                : { type: 'add', settings },
            );
            setDialog(undefined);
          }}
        />
      )}
      {dialog?.kind === 'delete' && (
        <ConfirmDialog
          open
          title="Delete this command?"
          confirmLabel="Delete"
          onClose={() => setDialog(undefined)}
          onConfirm={() => {
            dispatch({ type: 'remove', key: dialog.command.key });
            setDialog(undefined);
          }}
        >
          <strong>{dialog.command.label}</strong> (
          <code>{dialog.command.command}</code>) leaves the list when you save.
          Runs already made keep their record of it.
        </ConfirmDialog>
      )}
    </InfoCard>
  );
}
