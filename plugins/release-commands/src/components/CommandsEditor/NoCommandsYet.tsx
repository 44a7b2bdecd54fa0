import { EmptyState } from '@backstage/core-components';
import Button from '@material-ui/core/Button';
import Typography from '@material-ui/core/Typography';
import AddIcon from '@material-ui/icons/Add';
import { formatTimeout } from '../../lib/format';
import { ReleaseCommandsExplanation } from '../ReleaseCommandsExplanation/ReleaseCommandsExplanation';

/** What the card shows when the entity has no commands (yet). */
export function NoCommandsYet(props: {
  defaultTimeoutSeconds: number;
  editable: boolean;
  onAdd: () => void;
}) {
  return (
    <EmptyState
      missing="content"
      title="No release commands yet"
      description={
        <ReleaseCommandsExplanation
          defaultTimeout={formatTimeout(props.defaultTimeoutSeconds)}
        />
      }
      action={
        props.editable ? (
          <Button
            variant="contained"
            color="primary"
            startIcon={<AddIcon />}
            onClick={props.onAdd}
          >
            Add a command
          </Button>
        ) : (
          <Typography variant="body2" color="textSecondary">
            You do not have permission to add commands to this entity.
          </Typography>
        )
      }
    />
  );
}
