import IconButton from '@material-ui/core/IconButton';
import Switch from '@material-ui/core/Switch';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Tooltip from '@material-ui/core/Tooltip';
import Typography from '@material-ui/core/Typography';
import { makeStyles } from '@material-ui/core/styles';
import ArrowDownwardIcon from '@material-ui/icons/ArrowDownward';
import ArrowUpwardIcon from '@material-ui/icons/ArrowUpward';
import DeleteIcon from '@material-ui/icons/Delete';
import DragIndicatorIcon from '@material-ui/icons/DragIndicator';
import EditIcon from '@material-ui/icons/Edit';
import {
  CommandDeclaration,
  DeclaredCommand,
  DeclaredCommandSource,
  inRunOrder,
} from '@release-commands/backstage-plugin-release-commands-common';
import { DragEvent, useState } from 'react';
import { formatTimeout } from '../../lib/format';
import { CommandSourceChip } from './CommandSourceChip';
import { DraftCommand } from './commandsDraft';

const useStyles = makeStyles(theme => ({
  row: {
    '&:last-child td': { borderBottom: 0 },
  },
  dragging: { opacity: 0.4 },
  dropAbove: { boxShadow: `inset 0 2px 0 ${theme.palette.primary.main}` },
  dropBelow: { boxShadow: `inset 0 -2px 0 ${theme.palette.primary.main}` },
  handle: {
    cursor: 'grab',
    color: theme.palette.text.secondary,
    verticalAlign: 'middle',
  },
  command: {
    fontFamily: 'monospace',
    wordBreak: 'break-all',
    whiteSpace: 'pre-wrap',
  },
  disabledText: { color: theme.palette.text.disabled },
  nowrap: { whiteSpace: 'nowrap' },
}));

const cx = (...names: Array<string | false | undefined>) =>
  names.filter(Boolean).join(' ');

/** A row of the table: one of the tab's own commands, or a declared one. */
type Row =
  | { kind: 'own'; key: string; command: DraftCommand; index: number }
  | {
      kind: 'declared';
      key: string;
      command: DeclaredCommand;
      source: DeclaredCommandSource;
      /** Counts the declared rows only, top to bottom, from 1. */
      number: number;
    };

/**
 * The tab's own commands with the declared ones, in the order a run takes
 * them: the same rule the backend orders a run's steps by.
 */
function rowsInRunOrder(
  commands: DraftCommand[],
  declarations: CommandDeclaration[],
): Row[] {
  const rows = inRunOrder<Row>(
    commands.map((command, index) => ({
      kind: 'own',
      key: command.key,
      command,
      index,
    })),
    declarations
      .filter(declaration => !declaration.problem)
      .map((declaration, d) => ({
        source: declaration.source,
        items: declaration.commands.map((command, c) => ({
          position: command.position,
          item: {
            kind: 'declared',
            key: `declared:${d}:${c}`,
            command,
            source: declaration.source,
            number: 0,
          },
        })),
      })),
  );
  let declared = 0;
  return rows.map(row =>
    row.kind === 'declared' ? { ...row, number: ++declared } : row,
  );
}

export type CommandsListProps = {
  commands: DraftCommand[];
  /**
   * What the repository and the image declare: shown in run order among the
   * tab's commands, read only, since they change where they are declared.
   */
  declarations: CommandDeclaration[];
  defaultTimeoutSeconds: number;
  /** Without the update permission the list is shown, not edited. */
  editable: boolean;
  onMove: (from: number, to: number, via: 'keyboard' | 'drag') => void;
  onToggle: (command: DraftCommand, enabled: boolean) => void;
  onEdit: (command: DraftCommand) => void;
  onDelete: (command: DraftCommand) => void;
  /** Registers the move buttons so focus can follow a moved row. */
  moveButtonRef: (
    key: string,
    direction: 'up' | 'down',
  ) => (el: HTMLButtonElement | null) => void;
};

/**
 * The commands in run order. The tab's own rows reorder among themselves by
 * dragging (native HTML5 drag and drop) or, for keyboards and screen
 * readers, with the move buttons; declared rows stay where their
 * declaration puts them.
 */
export function CommandsList(props: CommandsListProps) {
  const { commands, defaultTimeoutSeconds, editable } = props;
  const classes = useStyles();
  const rows = rowsInRunOrder(commands, props.declarations);
  const timeout = (timeoutSeconds: number | null) =>
    timeoutSeconds === null ? (
      <Typography variant="body2" color="textSecondary">
        {formatTimeout(defaultTimeoutSeconds)} (default)
      </Typography>
    ) : (
      formatTimeout(timeoutSeconds)
    );
  const [dragFrom, setDragFrom] = useState<number>();
  const [dragOver, setDragOver] = useState<number>();
  // A row drags only from its handle, so the command text stays selectable.
  const [grabbed, setGrabbed] = useState<number>();

  const endDrag = () => {
    setDragFrom(undefined);
    setDragOver(undefined);
    setGrabbed(undefined);
  };
  const dragHandlers = (index: number, key: string) =>
    editable
      ? {
          draggable: grabbed === index,
          onDragStart: (event: DragEvent) => {
            setDragFrom(index);
            if (event.dataTransfer) {
              event.dataTransfer.effectAllowed = 'move';
              // Firefox starts a drag only when some data is set.
              event.dataTransfer.setData('text/plain', key);
            }
          },
          onDragOver: (event: DragEvent) => {
            if (dragFrom === undefined) return;
            event.preventDefault();
            if (event.dataTransfer) event.dataTransfer.dropEffect = 'move';
            if (dragOver !== index) setDragOver(index);
          },
          onDrop: (event: DragEvent) => {
            event.preventDefault();
            if (dragFrom !== undefined) props.onMove(dragFrom, index, 'drag');
            endDrag();
          },
          onDragEnd: endDrag,
        }
      : {};

  return (
    <Table size="small" aria-label="Release commands in run order">
      <TableHead>
        <TableRow>
          {editable && <TableCell padding="checkbox" />}
          <TableCell>#</TableCell>
          <TableCell>Label</TableCell>
          <TableCell>Command</TableCell>
          <TableCell>Source</TableCell>
          <TableCell>Enabled</TableCell>
          <TableCell>Timeout</TableCell>
          {editable && <TableCell align="right">Actions</TableCell>}
        </TableRow>
      </TableHead>
      <TableBody>
        {rows.map((row, order) => {
          if (row.kind === 'declared') {
            const { command } = row;
            return (
              <TableRow
                key={row.key}
                data-testid={`declared-row-${row.number}`}
                className={classes.row}
              >
                {editable && <TableCell padding="checkbox" />}
                <TableCell>{order + 1}</TableCell>
                <TableCell>{command.label}</TableCell>
                <TableCell>
                  <Typography
                    variant="body2"
                    component="code"
                    className={classes.command}
                  >
                    {command.command}
                  </Typography>
                </TableCell>
                <TableCell>
                  <CommandSourceChip source={row.source} />
                </TableCell>
                <TableCell>
                  <Typography variant="body2">Yes</Typography>
                </TableCell>
                <TableCell className={classes.nowrap}>
                  {timeout(command.timeoutSeconds)}
                </TableCell>
                {editable && <TableCell />}
              </TableRow>
            );
          }
          const { command, index } = row;
          return (
            <TableRow
              key={command.key}
              data-testid={`command-row-${index + 1}`}
              className={cx(
                classes.row,
                dragFrom === index && classes.dragging,
                dragOver === index &&
                  dragFrom !== undefined &&
                  dragFrom !== index &&
                  (dragFrom > index ? classes.dropAbove : classes.dropBelow),
              )}
              {...dragHandlers(index, command.key)}
            >
              {editable && (
                <TableCell padding="checkbox">
                  <Tooltip title="Drag to reorder">
                    <DragIndicatorIcon
                      className={classes.handle}
                      aria-hidden
                      fontSize="small"
                      data-testid={`drag-handle-${index + 1}`}
                      onMouseDown={() => setGrabbed(index)}
                      onMouseUp={() => setGrabbed(undefined)}
                    />
                  </Tooltip>
                </TableCell>
              )}
              <TableCell>{order + 1}</TableCell>
              <TableCell
                className={command.enabled ? undefined : classes.disabledText}
              >
                {command.label}
              </TableCell>
              <TableCell>
                <Typography
                  variant="body2"
                  component="code"
                  className={cx(
                    classes.command,
                    !command.enabled && classes.disabledText,
                  )}
                >
                  {command.command}
                </Typography>
              </TableCell>
              <TableCell>
                <CommandSourceChip source={command.source} />
              </TableCell>
              <TableCell>
                {editable ? (
                  <Switch
                    size="small"
                    color="primary"
                    checked={command.enabled}
                    onChange={e => props.onToggle(command, e.target.checked)}
                    inputProps={{ 'aria-label': `Enabled: ${command.label}` }}
                  />
                ) : (
                  <Typography variant="body2">
                    {command.enabled ? 'Yes' : 'No'}
                  </Typography>
                )}
              </TableCell>
              <TableCell className={classes.nowrap}>
                {timeout(command.timeoutSeconds)}
              </TableCell>
              {editable && (
                <TableCell align="right" className={classes.nowrap}>
                  <IconButton
                    size="small"
                    aria-label={`Move ${command.label} up`}
                    disabled={index === 0}
                    onClick={() => props.onMove(index, index - 1, 'keyboard')}
                    ref={props.moveButtonRef(command.key, 'up')}
                  >
                    <ArrowUpwardIcon fontSize="small" />
                  </IconButton>
                  <IconButton
                    size="small"
                    aria-label={`Move ${command.label} down`}
                    disabled={index === commands.length - 1}
                    onClick={() => props.onMove(index, index + 1, 'keyboard')}
                    ref={props.moveButtonRef(command.key, 'down')}
                  >
                    <ArrowDownwardIcon fontSize="small" />
                  </IconButton>
                  <IconButton
                    size="small"
                    aria-label={`Edit ${command.label}`}
                    onClick={() => props.onEdit(command)}
                  >
                    <EditIcon fontSize="small" />
                  </IconButton>
                  <IconButton
                    size="small"
                    aria-label={`Delete ${command.label}`}
                    onClick={() => props.onDelete(command)}
                  >
                    <DeleteIcon fontSize="small" />
                  </IconButton>
                </TableCell>
              )}
            </TableRow>
          );
        })}
      </TableBody>
    </Table>
  );
}
