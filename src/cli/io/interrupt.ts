/**
 * SIGINT/SIGTERM during a CLI row run. The first signal asks the run to stop: no new batch starts, the batches
 * already running finish and are written, the output is put in place, and the process exits with the shell's
 * status for that signal (130 for SIGINT, 143 for SIGTERM) so `--resume` continues later. A second signal stops at
 * once: the process ends by that signal itself (the shell reports the same 130/143).
 *
 * Why not `process.exit` on the second signal: ONNX Runtime may be running a batch on its worker thread, and
 * tearing the process down around it aborts natively (`terminate called after throwing an instance of
 * 'Napi::Error'`, status 134). A signal with its default action ends the process in the kernel, running no
 * teardown at all; the output is then what a SIGKILL leaves, which `--resume` handles (torn tail cut, work file
 * continued).
 *
 * The handlers are installed only once the model is open (runPipelineCommand): while it loads nothing has been
 * written, so a signal keeps its default action there and ends the process at once, for the same reason.
 */
import { constants } from 'node:os';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface Interruption {
  /** Aborted by the first signal (its reason is the signal's name). */
  readonly signal: AbortSignal;
  /** 130 or 143 once a signal came, else undefined. */
  exitCode(): number | undefined;
  /** Removes the handlers (the default behaviour of the signals returns). */
  dispose(): void;
}

export interface InterruptOptions {
  signals?: StopSignal[];
  /** Where the notice of the first signal goes. Default process.stderr. */
  stderr?: NodeJS.WritableStream;
}

/** Installs the handlers; call `dispose` when the run is over. */
export function interruptOnSignals({
  signals = ['SIGINT', 'SIGTERM'],
  stderr = process.stderr,
}: InterruptOptions = {}): Interruption {
  const controller = new AbortController();
  let received: StopSignal | undefined;
  const dispose = () => {
    for (const name of signals) process.off(name, handler);
  };
  const handler = (name: StopSignal) => {
    if (received !== undefined) {
      dispose();
      process.kill(process.pid, name); // default action now: the kernel ends the process
      return;
    }
    received = name;
    stderr.write(
      `seqbatch: ${name} received: finishing the rows in progress and closing the output (again to stop at once; --resume continues)\n`,
    );
    controller.abort(name);
  };
  for (const name of signals) process.on(name, handler);
  return {
    signal: controller.signal,
    exitCode: () => (received === undefined ? undefined : 128 + constants.signals[received]),
    dispose,
  };
}
