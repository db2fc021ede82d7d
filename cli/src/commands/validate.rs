//! `crosswalk validate`: load every definition and report every problem.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use crosswalk::Engine;

pub(crate) fn run(mappings: &Path) -> ExitCode {
    match Engine::load(mappings) {
        Ok(engine) => {
            let mut out = std::io::stdout().lock();
            for integration in engine.integrations() {
                let _ = writeln!(
                    out,
                    "{} ({}): {} resources, base URL {}",
                    integration.name,
                    integration.title,
                    integration.resources.len(),
                    integration.base_url
                );
                for resource in &integration.resources {
                    let mut line =
                        format!("  {:<32} {}", resource.name, resource.methods.join(", "));
                    if !resource.filters.is_empty() {
                        line.push_str(&format!("  [filters: {}]", resource.filters.join(", ")));
                    }
                    let _ = writeln!(out, "{line}");
                }
            }
            // A sandbox is part of an integration's definition: its data must load too.
            for integration in engine.integrations() {
                let folder = mappings.join(&integration.name);
                if !folder.join("sandbox.yaml").is_file() {
                    continue;
                }
                match crosswalk::sandbox::Sandbox::load(&folder) {
                    Ok(_) => {
                        let _ = writeln!(out, "{} sandbox: valid", integration.name);
                    }
                    Err(error) => return report(mappings, &error),
                }
            }
            let _ = writeln!(out, "all definitions in {} are valid", mappings.display());
            ExitCode::SUCCESS
        }
        Err(error) => report(mappings, &error),
    }
}

/// Prints every located problem of a failed load, then a count.
fn report(mappings: &Path, error: &crosswalk::Error) -> ExitCode {
    let mut err = std::io::stderr().lock();
    if error.diagnostics().is_empty() {
        let _ = writeln!(err, "error: {}", error.message());
    }
    for diagnostic in error.diagnostics() {
        let _ = writeln!(err, "error: {}\n", diagnostic.render());
    }
    let count = error.diagnostics().len().max(1);
    let noun = if count == 1 { "problem" } else { "problems" };
    let _ = writeln!(err, "{count} {noun} in {}", mappings.display());
    ExitCode::from(crate::exit_code(error.kind()))
}
