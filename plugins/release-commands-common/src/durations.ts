import { formatDuration, plural } from './formatting';
import { ReleaseCommandRun, RunStep } from './runs';

/**
 * How many of an entity's newest runs {@link durationSeries} draws from:
 * ask the API for this many.
 *
 * @public
 */
export const DURATION_SERIES_RUNS = 30;

/** One run's duration of a command. @public */
export type DurationPoint = {
  runId: string;
  /** Measured from the step's start to its end, also when it timed out. */
  seconds: number;
  status: 'succeeded' | 'failed' | 'timed_out';
  finishedAt: string;
};

/**
 * A command's durations over an entity's last runs, oldest first; never
 * empty.
 *
 * @public
 */
export type DurationSeries = {
  label: string;
  points: DurationPoint[];
  /** The timeout of the newest point's step: the line to draw. */
  timeoutSeconds: number;
};

/**
 * A command trending toward its timeout, as {@link timeoutWarning} tells it.
 *
 * @public
 */
export type TimeoutWarning = {
  label: string;
  /** The run of the newest point, the one the warning is about. */
  runId: string;
  latestSeconds: number;
  timeoutSeconds: number;
  /** `latestSeconds / timeoutSeconds`. */
  share: number;
  /** One sentence a person can act on. */
  reason: string;
};

const MEASURED_STATUSES: ReadonlyArray<RunStep['status']> = [
  'succeeded',
  'failed',
  'timed_out',
];

// The numbers of the rule that timeoutWarning documents.
const NEAR_TIMEOUT_SHARE = 0.75;
const TREND_MIN_SHARE = 0.5;
const TREND_MIN_POINTS = 5;
const TREND_WINDOW = 10;
const TREND_HORIZON_RUNS = 10;

/** A step's point, with its timeout, if it ran to an end. */
function measure(
  runId: string,
  step: RunStep | undefined,
): { point: DurationPoint; timeoutSeconds: number } | undefined {
  if (!step?.startedAt || !step.finishedAt) return undefined;
  if (!MEASURED_STATUSES.includes(step.status)) return undefined;
  const ms = Date.parse(step.finishedAt) - Date.parse(step.startedAt);
  return {
    point: {
      runId,
      seconds: Math.max(0, ms) / 1000,
      status: step.status as DurationPoint['status'],
      finishedAt: step.finishedAt,
    },
    timeoutSeconds: step.timeoutSeconds,
  };
}

/**
 * Each command's durations over the last {@link DURATION_SERIES_RUNS} of
 * `runs` (newest first, as the API lists them): a point for every run whose
 * step of that label ran to an end (succeeded, failed or timed out). Commands
 * come in the order of the newest run's steps, then those only older runs
 * have; a command without any such point has no series.
 *
 * @public
 */
export function durationSeries(
  runs: ReadonlyArray<ReleaseCommandRun>,
): DurationSeries[] {
  const recent = runs.slice(0, DURATION_SERIES_RUNS);
  const labels = [
    ...new Set(recent.flatMap(run => run.steps.map(step => step.label))),
  ];
  return labels.flatMap(label => {
    const measured = recent
      .map(run =>
        measure(
          run.id,
          run.steps.find(step => step.label === label),
        ),
      )
      .filter(m => m !== undefined)
      .reverse();
    if (measured.length === 0) return [];
    return [
      {
        label,
        points: measured.map(m => m.point),
        timeoutSeconds: measured[measured.length - 1].timeoutSeconds,
      },
    ];
  });
}

/**
 * In how many runs after the last of `seconds` (one per run, oldest first)
 * a least-squares line through them reaches `timeoutSeconds`; undefined
 * when not within the horizon.
 */
function runsUntilTimeout(
  seconds: number[],
  timeoutSeconds: number,
): number | undefined {
  const n = seconds.length;
  const meanX = (n - 1) / 2;
  const meanY = seconds.reduce((sum, y) => sum + y, 0) / n;
  let covariance = 0;
  let variance = 0;
  seconds.forEach((y, x) => {
    covariance += (x - meanX) * (y - meanY);
    variance += (x - meanX) ** 2;
  });
  const slope = covariance / variance;
  for (let ahead = 1; ahead <= TREND_HORIZON_RUNS; ahead++) {
    if (meanY + slope * (n - 1 + ahead - meanX) >= timeoutSeconds) {
      return ahead;
    }
  }
  return undefined;
}

/**
 * Whether a command is trending toward its timeout, with why; null when it
 * is not. It is when its newest point:
 *
 * - timed out; or
 * - took at least 75% of the timeout; or
 * - took at least 50% of the timeout, the series has at least 5 points, and
 *   a least-squares line through its last 10 points reaches the timeout
 *   within the next 10 runs.
 *
 * The timeout is the series' (that of the newest point).
 *
 * @public
 */
export function timeoutWarning(series: DurationSeries): TimeoutWarning | null {
  const { label, points, timeoutSeconds } = series;
  const latest = points[points.length - 1];
  if (!latest) return null;
  const share = latest.seconds / timeoutSeconds;
  const took = formatDuration(latest.seconds * 1000);
  const timeout = formatDuration(timeoutSeconds * 1000);
  const percent = `${Math.round(share * 100)}%`;
  const warn = (reason: string): TimeoutWarning => ({
    label,
    runId: latest.runId,
    latestSeconds: latest.seconds,
    timeoutSeconds,
    share,
    reason: `"${label}" ${reason}: make it faster or raise its timeout.`,
  });

  if (latest.status === 'timed_out') {
    return warn(
      `timed out in its last run, after ${took} against a ${timeout} timeout`,
    );
  }
  if (share >= NEAR_TIMEOUT_SHARE) {
    return warn(
      `took ${took} of its ${timeout} timeout (${percent}) in its last run`,
    );
  }
  if (points.length >= TREND_MIN_POINTS && share >= TREND_MIN_SHARE) {
    const ahead = runsUntilTimeout(
      points.slice(-TREND_WINDOW).map(point => point.seconds),
      timeoutSeconds,
    );
    if (ahead !== undefined) {
      return warn(
        `is getting slower and at this pace reaches its ${timeout} timeout within ${plural(
          ahead,
          'run',
        )} (its last run took ${took}, ${percent})`,
      );
    }
  }
  return null;
}
