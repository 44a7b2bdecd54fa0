import {
  plural,
  RunPlan,
  RunPlanStep,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import Table from '@material-ui/core/Table';
import TableBody from '@material-ui/core/TableBody';
import TableCell from '@material-ui/core/TableCell';
import TableHead from '@material-ui/core/TableHead';
import TableRow from '@material-ui/core/TableRow';
import Typography from '@material-ui/core/Typography';
import Alert from '@material-ui/lab/Alert';
import AlertTitle from '@material-ui/lab/AlertTitle';
import { formatTimeout } from '../../lib/format';
import { StepLabel } from '../StepLabel/StepLabel';

/** Where the image has the step's executable, as the check found it. */
function FoundIn(props: { step: RunPlanStep }) {
  const { found, executable } = props.step;
  if (found === false) {
    return (
      <Typography variant="body2" color="error">
        missing
      </Typography>
    );
  }
  if (found === null) {
    return (
      <Typography variant="body2" color="textSecondary">
        {executable === null ? 'not known before running' : 'not looked up'}
      </Typography>
    );
  }
  // `command -v` answers a builtin (echo; busybox's applets) by its name.
  if (found === executable && !found.includes('/')) {
    return <Typography variant="body2">built into the shell</Typography>;
  }
  return (
    <Typography variant="body2" component="code">
      {found}
    </Typography>
  );
}

/**
 * What a check (`dryRun`) answered: ready or the problems that would stop
 * the run, then the image every step would run and each step's executable.
 */
export function RunPlanResult(props: { plan: RunPlan }) {
  const { plan } = props;
  return (
    <Box mt={2} aria-label="Check result" role="region">
      {plan.ok ? (
        <Alert severity="success">
          <AlertTitle>Ready to run</AlertTitle>
          {plan.steps.length === 0
            ? 'There are no enabled commands, so a run would have nothing to do.'
            : `${plural(plan.steps.length, 'command')} would run on ${
                plan.image
              } in environment ${plan.environment}.`}{' '}
          Nothing was started.
        </Alert>
      ) : (
        <Alert severity="error">
          <AlertTitle>
            Not ready: {plural(plan.problems.length, 'problem')} would stop the
            run
          </AlertTitle>
          <Box component="ul" m={0} pl={2}>
            {plan.problems.map((problem, index) => (
              <li key={index}>{problem}</li>
            ))}
          </Box>
        </Alert>
      )}
      {plan.imageId && (
        <Box mt={2}>
          <Typography variant="body2">
            Every step would run image <code>{plan.imageId}</code>
            {plan.imageDigest && (
              <>
                {' '}
                (<code>{plan.imageDigest}</code>)
              </>
            )}
          </Typography>
        </Box>
      )}
      {plan.steps.length > 0 && (
        <Table size="small" aria-label="Planned steps">
          <TableHead>
            <TableRow>
              <TableCell>#</TableCell>
              <TableCell>Step</TableCell>
              <TableCell>Executable</TableCell>
              <TableCell>In the image</TableCell>
              <TableCell>Timeout</TableCell>
            </TableRow>
          </TableHead>
          <TableBody>
            {plan.steps.map(step => (
              <TableRow key={step.position}>
                <TableCell>{step.position + 1}</TableCell>
                <TableCell>
                  <StepLabel step={step} />
                </TableCell>
                <TableCell>
                  {step.executable === null ? (
                    '–'
                  ) : (
                    <Typography variant="body2" component="code">
                      {step.executable}
                    </Typography>
                  )}
                </TableCell>
                <TableCell>
                  <FoundIn step={step} />
                </TableCell>
                <TableCell>{formatTimeout(step.timeoutSeconds)}</TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
    </Box>
  );
}
