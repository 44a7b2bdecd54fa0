import { RunStep } from '@release-commands/backstage-plugin-release-commands-common';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import { elapsed, formatTimeout } from '../../lib/format';
import { CommandSourceChip } from '../CommandsEditor/CommandSourceChip';
import { RunStatusChip } from '../RunStatusChip/RunStatusChip';
import { StepLabel } from '../StepLabel/StepLabel';

function outcome(step: RunStep): string {
  if (step.oomKilled) return `out of memory (exit ${step.exitCode ?? '?'})`;
  if (step.exitCode === null) return '';
  return `exit ${step.exitCode}`;
}

/** Each command of a run as it was when the run started, with its result. */
export function RunSteps(props: { steps: RunStep[] }) {
  if (props.steps.length === 0) {
    return (
      <Typography variant="body2" color="textSecondary">
        The entity had no enabled commands when this run started, so there was
        nothing to run.
      </Typography>
    );
  }
  return (
    <Table size="small" aria-label="Steps">
      <TableHead>
        <TableRow>
          <TableCell>#</TableCell>
          <TableCell>Step</TableCell>
          <TableCell>Source</TableCell>
          <TableCell>Status</TableCell>
          <TableCell>Result</TableCell>
          <TableCell>Duration</TableCell>
          <TableCell>Timeout</TableCell>
        </TableRow>
      </TableHead>
      <TableBody>
        {props.steps.map((step, index) => (
          <TableRow key={step.position} data-testid={`step-${index + 1}`}>
            <TableCell>{index + 1}</TableCell>
            <TableCell>
              <StepLabel step={step} />
            </TableCell>
            <TableCell>
              {step.source && <CommandSourceChip source={step.source} />}
            </TableCell>
            <TableCell>
              <RunStatusChip status={step.status} />
            </TableCell>
            <TableCell>{outcome(step)}</TableCell>
            <TableCell>{elapsed(step.startedAt, step.finishedAt)}</TableCell>
            <TableCell>{formatTimeout(step.timeoutSeconds)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
