//! Everything the CLI writes: data on stdout, errors and diagnostics on stderr.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use crosswalk::{Error, ErrorKind};
use futures_util::{Stream, StreamExt};

/// Writes one JSON value to stdout: pretty on a terminal, compact in a pipe.
pub(crate) fn print_json(value: &serde_json::Value) -> io::Result<()> {
    let stdout = io::stdout();
    let pretty = stdout.is_terminal();
    let mut out = stdout.lock();
    write_json(&mut out, value, pretty)?;
    writeln!(out)?;
    out.flush()
}

fn write_json(out: &mut impl Write, value: &serde_json::Value, pretty: bool) -> io::Result<()> {
    if pretty {
        serde_json::to_writer_pretty(&mut *out, value)?;
    } else {
        serde_json::to_writer(&mut *out, value)?;
    }
    Ok(())
}

/// Writes an error in Truto's shape to stderr.
pub(crate) fn print_error(error: &Error) {
    let body = error.to_json();
    let stderr = io::stderr();
    let pretty = stderr.is_terminal();
    let mut out = stderr.lock();
    let _ = write_json(&mut out, &body, pretty);
    let _ = writeln!(out);
    // Definition problems are also drawn with their source line, for people.
    for diagnostic in error.diagnostics() {
        let _ = writeln!(out, "{}\n", diagnostic.render());
    }
}

/// Writes a list envelope record by record, so that records appear as they arrive and the
/// output is still one JSON document: `{"result": [...], "next_cursor": null, "result_count": n}`.
pub(crate) struct StreamedEnvelope {
    out: io::StdoutLock<'static>,
    pretty: bool,
    count: usize,
}

impl StreamedEnvelope {
    pub(crate) fn start() -> io::Result<StreamedEnvelope> {
        let stdout = io::stdout();
        let pretty = stdout.is_terminal();
        let mut out = stdout.lock();
        out.write_all(if pretty {
            b"{\n  \"result\": ["
        } else {
            b"{\"result\":["
        })?;
        out.flush()?;
        Ok(StreamedEnvelope {
            out,
            pretty,
            count: 0,
        })
    }

    pub(crate) fn record(&mut self, record: &serde_json::Value) -> io::Result<()> {
        if self.count > 0 {
            self.out.write_all(b",")?;
        }
        if self.pretty {
            let text = serde_json::to_string_pretty(record)?;
            write!(self.out, "\n    {}", text.replace('\n', "\n    "))?;
        } else {
            serde_json::to_writer(&mut self.out, record)?;
        }
        self.count += 1;
        self.out.flush()
    }

    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// Closes the document. When the stream stopped on an error (`complete` is false) the
    /// records so far stay valid output, marked `"is_partial_response": true`; the error
    /// follows on stderr.
    pub(crate) fn finish(mut self, complete: bool) -> io::Result<()> {
        let partial = match (complete, self.pretty) {
            (true, _) => "",
            (false, true) => ",\n  \"is_partial_response\": true",
            (false, false) => ",\"is_partial_response\":true",
        };
        if self.pretty {
            let newline = if self.count > 0 { "\n  " } else { "" };
            write!(
                self.out,
                "{newline}],\n  \"next_cursor\": null,\n  \"result_count\": {}{partial}\n}}\n",
                self.count
            )?;
        } else {
            writeln!(
                self.out,
                "],\"next_cursor\":null,\"result_count\":{}{partial}}}",
                self.count
            )?;
        }
        self.out.flush()
    }
}

/// Writes every record of a stream inside one envelope as the records arrive, with a running
/// count on stderr when stderr is a terminal. An error before the first record prints nothing
/// on stdout; a later one closes the envelope over the records so far.
pub(crate) async fn stream_envelope(
    records: impl Stream<Item = Result<serde_json::Value, Error>>,
) -> Result<ExitCode, Error> {
    let mut records = Box::pin(records);
    let first = match records.next().await {
        Some(Err(error)) => return Err(error),
        other => other,
    };
    let progress = progress_bar();
    let mut envelope = StreamedEnvelope::start().map_err(write_error)?;
    let mut next = first;
    while let Some(item) = next {
        match item {
            Ok(record) => {
                envelope.record(&record).map_err(write_error)?;
                progress.inc(1);
            }
            Err(error) => {
                progress.abandon();
                envelope.finish(false).map_err(write_error)?;
                return Err(error);
            }
        }
        next = records.next().await;
    }
    progress.finish_and_clear();
    tracing::debug!(records = envelope.count(), "listed every page");
    envelope.finish(true).map_err(write_error)?;
    Ok(ExitCode::SUCCESS)
}

/// A record counter on stderr, hidden unless stderr is a terminal.
fn progress_bar() -> indicatif::ProgressBar {
    if !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    let style =
        indicatif::ProgressStyle::with_template("{spinner} {pos} records  {per_sec}  {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Set once stdout's reader has gone away (`| head`): not a failure, but nothing more to print.
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether the output stopped because its reader went away.
pub(crate) fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Turns an output failure into an error. A reader that went away is noted, so that the
/// command still finishes its work (a recording is still written) and then exits quietly.
pub(crate) fn write_error(error: io::Error) -> Error {
    if error.kind() == io::ErrorKind::BrokenPipe {
        STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    Error::new(
        ErrorKind::Transport,
        format!("cannot write the output: {error}"),
    )
}
