import {
  DurationSeries,
  plural,
} from '@release-commands/backstage-plugin-release-commands-common';
import Box from '@material-ui/core/Box';
import { useTheme } from '@material-ui/core/styles';
import {
  Sparklines,
  SparklinesLine,
  SparklinesReferenceLine,
} from 'react-sparklines';
import { formatTimeout } from '../../lib/format';

export const CHART_WIDTH = 240;
export const CHART_HEIGHT = 40;
export const CHART_MARGIN = 2;

/**
 * A command's durations as a line, oldest on the left, on a scale from 0 to
 * its timeout (or its slowest run, when that took longer), with the timeout
 * as a dashed line.
 */
export function DurationChart(props: { series: DurationSeries }) {
  const { label, points, timeoutSeconds } = props.series;
  const theme = useTheme();
  const seconds = points.map(point => point.seconds);
  const max = Math.max(timeoutSeconds, ...seconds);
  // A custom reference line's value is not a duration but the line's
  // distance from the top inside the margin, in the chart's units.
  const timeoutY =
    ((max - timeoutSeconds) / max) * (CHART_HEIGHT - 2 * CHART_MARGIN);
  // The library draws from the first point to the last, the timeout too:
  // one run is drawn as a level stretch so both show.
  const data = seconds.length === 1 ? [seconds[0], seconds[0]] : seconds;
  return (
    <Box
      role="img"
      aria-label={`Durations of ${label} over the last ${plural(
        points.length,
        'run',
      )}; timeout ${formatTimeout(timeoutSeconds)}`}
      width={CHART_WIDTH}
      height={CHART_HEIGHT}
      flexShrink={0}
    >
      <Sparklines
        data={data}
        min={0}
        max={max}
        width={CHART_WIDTH}
        height={CHART_HEIGHT}
        margin={CHART_MARGIN}
        svgWidth={CHART_WIDTH}
        svgHeight={CHART_HEIGHT}
      >
        <SparklinesLine color={theme.palette.primary.main} />
        <SparklinesReferenceLine
          type="custom"
          value={timeoutY}
          style={{
            stroke: theme.palette.error.main,
            strokeDasharray: '4, 2',
          }}
        />
      </Sparklines>
    </Box>
  );
}
