/**
 * CLI entry of `deno task conformance`. Parses flags, runs the suite, prints progress and the
 * summary, writes reports, and exits 0 (no case fails the run), 1 (a case failed or errored, or
 * the harness broke) or 2 (usage error, unreachable target).
 *
 * @module
 */

import { HELP, parseCli } from "./cli.ts";
import { PreflightError, UsageError } from "./errors.ts";
import { loadAllCases } from "./_load_cases.ts";
import { ConsoleReporter, writeReports } from "./report/mod.ts";
import { exitCodeFor, runConformance } from "./runner.ts";
import { selectCases } from "./select.ts";
import type { CaseDefinition } from "./types.ts";

/** Where the CLI writes and what it knows about its terminal. */
export interface CliIo {
  /** Writes one line to standard output. */
  readonly out: (line: string) => void;
  /** Writes one line to standard error. */
  readonly err: (line: string) => void;
  /** Use ANSI colours. */
  readonly color: boolean;
  /** Loads the cases (default: the case library); runs load them after the preflight. */
  readonly loadCases?: () => Promise<readonly CaseDefinition[]>;
}

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments.
 * @param io Output sinks (and, for tests, a case loader).
 * @returns The exit code.
 */
export async function main(args: readonly string[], io: CliIo): Promise<number> {
  try {
    const command = await parseCli(args);
    if (command.kind === "help") {
      HELP.trimEnd().split("\n").forEach((line) => io.out(line));
      return 0;
    }
    if (command.kind === "list") {
      const cases = await (io.loadCases ?? loadAllCases)();
      const selected = selectCases(cases, command);
      if (selected.length === 0) {
        throw new UsageError(
          "--only",
          `No case selected: ${cases.length} cases, none left after --only/--skip`,
        );
      }
      const width = Math.max(...selected.map((c) => c.id.length));
      for (const c of selected) {
        io.out(`${c.id.padEnd(width)}  ${c.level.padEnd(6)}  ${c.requirement}`);
      }
      io.out(`${selected.length} of ${cases.length} cases`);
      return 0;
    }
    const reporter = new ConsoleReporter({
      write: io.out,
      quiet: command.quiet,
      verbose: command.verbose,
      color: io.color,
    });
    const cancel = new AbortController();
    const stopCleanup = new AbortController();
    // The first Ctrl-C cancels the cases (what they created is still removed); a second one
    // stops the removal too.
    const onSigint = () => {
      if (cancel.signal.aborted) {
        stopCleanup.abort(new DOMException("Cleanup cancelled (SIGINT)", "AbortError"));
      } else {
        cancel.abort(new DOMException("Run cancelled (SIGINT)", "AbortError"));
      }
    };
    Deno.addSignalListener("SIGINT", onSigint);
    try {
      const report = await runConformance({
        ...command.options,
        ...(io.loadCases ? { cases: await io.loadCases() } : {}),
        signal: cancel.signal,
        cleanupSignal: stopCleanup.signal,
        onEvent: (event) => reporter.onEvent(event),
      });
      reporter.summary(report);
      if (command.reportDir !== undefined) {
        await writeReports(report, command.reportDir);
        io.out(`Reports: ${command.reportDir}/index.json, junit.xml, report.html`);
      }
      return exitCodeFor(report);
    } finally {
      Deno.removeSignalListener("SIGINT", onSigint);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof PreflightError) {
      io.err(`conformance: ${error.message}`);
      return 2;
    }
    io.err(
      `conformance: Harness error: ${
        error instanceof Error ? error.stack ?? error.message : String(error)
      }`,
    );
    return 1;
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const code = await main(Deno.args, {
    out: (line) => Deno.stdout.writeSync(encoder.encode(`${line}\n`)),
    err: (line) => Deno.stderr.writeSync(encoder.encode(`${line}\n`)),
    color: Deno.stdout.isTerminal() && Deno.env.get("NO_COLOR") === undefined,
  });
  // Cases abandoned after their timeout may still hold sockets: the run is over regardless.
  Deno.exit(code);
}
