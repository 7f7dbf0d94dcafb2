// The progress line of the long commands (explore, export, replay of a big trace): one line on
// stderr, never on stdout, so --json output stays clean. Drawn when stderr is a terminal (each
// command says when it is worth it) or when --progress asks for it: then, on a pipe or a file, one
// line every PERIOD_MS. At most 5 redraws a second; on a terminal the line is cleared at the end.
// cli-progress does the drawing (and the throttling).
/** The fields a line's format names. */
export type Payload = Record<string, string | number>;

const FPS = 5;
const PERIOD_MS = 1000 / FPS;

export interface Progress {
  update(payload: Payload, value?: number): void;
  stop(): void;
}

/** Whether to draw: --progress, or a terminal on stderr when the command would draw by itself. */
export function wantProgress(forced: boolean | undefined, auto: boolean): boolean {
  return forced === true || (auto && process.stderr.isTTY === true);
}

/**
 * A line in cli-progress's `format` ({name} fields from the payload, {bar}/{percentage} from
 * value/total when `total` is given); `stop()` draws the last state and clears it (a terminal).
 */
export async function progressLine(format: string, payload: Payload, total?: number): Promise<Progress> {
  const { default: cliProgress } = await import('cli-progress');
  const tty = process.stderr.isTTY === true;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format, fps: FPS, noTTYOutput: !tty, notTTYSchedule: PERIOD_MS, hideCursor: tty, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 1, 0, payload);
  let stopped = false;
  return {
    update: (p, value) => (value === undefined ? bar.update(p) : bar.update(value, p)),
    stop: () => {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
