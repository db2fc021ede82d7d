//! The `crosswalk` binary, run for real: exit codes, stdout and stderr.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

fn crosswalk() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_crosswalk"));
    command
        .env_remove("RUST_LOG")
        .env_remove("CROSSWALK_MAPPINGS");
    command
}

fn run(args: &[&str]) -> Output {
    crosswalk().args(args).output().expect("the binary runs")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "stdout is not JSON ({error}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The line of stderr that holds the error in Truto's shape (warnings may come before it).
fn stderr_error(output: &Output) -> Value {
    let text = String::from_utf8_lossy(&output.stderr);
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|value| value.get("statusCode").is_some())
        .unwrap_or_else(|| panic!("stderr holds no error object:\n{text}"))
}

fn mappings() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../mappings"))
}

/// The bundled integration (the mappings hold one); the CLI's tests, like its sources, name
/// no integration.
fn integration() -> String {
    let mut names: Vec<String> = std::fs::read_dir(mappings())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.join("integration.yaml").is_file())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "these tests expect one bundled integration: {names:?}"
    );
    names.remove(0)
}

fn seed_ids(file: &str) -> Vec<String> {
    let path = mappings()
        .join(integration())
        .join("sandbox/seed")
        .join(file);
    let records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn list_one_page_from_the_sandbox() {
    let output = run(&[
        "unified",
        "crm",
        "accounts",
        "list",
        "--sandbox",
        "--limit",
        "5",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = stdout_json(&output);
    assert_eq!(page["result_count"], 5);
    assert_eq!(page["result"].as_array().unwrap().len(), 5);
    assert!(page["next_cursor"].is_string());
    assert_eq!(page["result"][0]["id"], seed_ids("lead.json")[0]);
    assert!(page["result"][0]["remote_data"].is_object());
}

#[test]
fn the_cursor_continues_in_a_new_process() {
    // Each run starts a fresh in-process sandbox seeded the same way, so a cursor from one
    // run continues in the next.
    let first = stdout_json(&run(&[
        "unified",
        "crm",
        "accounts",
        "list",
        "--sandbox",
        "--limit",
        "3",
    ]));
    let cursor = first["next_cursor"].as_str().unwrap();
    let output = run(&[
        "unified",
        "crm",
        "accounts",
        "list",
        "--sandbox",
        "--cursor",
        cursor,
    ]);
    assert_eq!(output.status.code(), Some(0));
    let second = stdout_json(&output);
    assert_eq!(second["result"][0]["id"], seed_ids("lead.json")[3]);
}

#[test]
fn all_streams_every_seeded_account_exactly_once() {
    let output = run(&[
        "unified",
        "crm",
        "accounts",
        "list",
        "--sandbox",
        "--all",
        "--limit",
        "7",
        "--no-remote-data",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let envelope = stdout_json(&output);
    let ids: Vec<String> = envelope["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, seed_ids("lead.json"));
    assert_eq!(envelope["result_count"], ids.len());
    assert_eq!(envelope["next_cursor"], Value::Null);
    assert!(envelope["result"][0].get("remote_data").is_none());
}

#[test]
fn get_a_contact() {
    let id = &seed_ids("contact.json")[0];
    let output = run(&["unified", "crm", "contacts", "get", id, "--sandbox"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let contact = stdout_json(&output);
    assert_eq!(&contact["id"], id);
    assert!(contact["email_addresses"].is_array());
}

#[test]
fn unknown_id_is_a_404_on_stderr_with_exit_code_1() {
    let output = run(&[
        "unified",
        "crm",
        "accounts",
        "get",
        "no-such-record",
        "--sandbox",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let error = stderr_error(&output);
    assert_eq!(error["statusCode"], 404);
    assert_eq!(error["error"], "Not Found");
    assert_eq!(error["details"]["kind"], "not_found");
    assert_eq!(
        error["details"]["remote"],
        json!({"error": "Empty query: Lead matching query does not exist."})
    );
}

#[test]
fn a_foreign_cursor_is_bad_input() {
    let output = run(&[
        "unified",
        "crm",
        "accounts",
        "list",
        "--sandbox",
        "--cursor",
        "not-a-cursor",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr_error(&output);
    assert_eq!(error["statusCode"], 400);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("invalid cursor"),
        "{error}"
    );
}

#[test]
fn an_unsupported_filter_names_what_is_supported() {
    let output = run(&[
        "unified",
        "crm",
        "contacts",
        "list",
        "--sandbox",
        "--query",
        "industry=x",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr_error(&output);
    assert_eq!(error["details"]["supported"], json!(["account_id"]));
}

#[test]
fn a_filter_narrows_the_list() {
    let lead = &seed_ids("lead.json")[0];
    let filter = format!("account_id={lead}");
    let output = run(&[
        "unified",
        "crm",
        "contacts",
        "list",
        "--sandbox",
        "--query",
        &filter,
    ]);
    assert_eq!(output.status.code(), Some(0));
    let page = stdout_json(&output);
    let results = page["result"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(results.iter().all(|c| &c["account"]["id"] == lead));
}

#[test]
fn usage_mistakes_exit_with_2() {
    let cases: &[&[&str]] = &[
        &["unified", "crm", "accounts", "get", "--sandbox"],
        &["unified", "crm", "accounts", "create", "--sandbox"],
        &[
            "unified",
            "crm",
            "accounts",
            "list",
            "--sandbox",
            "--query",
            "novalue",
        ],
        &["unified", "crm", "accounts", "list"],
        &["unified", "crm", "nothing", "list", "--sandbox"],
    ];
    for args in cases {
        let output = run(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}");
    }
}

#[test]
fn a_body_that_is_not_json_is_located() {
    let mut child = crosswalk()
        .args([
            "unified",
            "crm",
            "accounts",
            "create",
            "--sandbox",
            "--body",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\n  \"name\": oops\n}")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = stderr_error(&output);
    assert!(
        error["message"].as_str().unwrap().contains("line 2"),
        "{error}"
    );
}

#[test]
fn a_missing_environment_variable_in_the_account_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let account = dir.path().join("account.yaml");
    std::fs::write(
        &account,
        format!(
            "integration: {}\ncredentials:\n  api_key: ${{CROSSWALK_TEST_UNSET_KEY}}\n",
            integration()
        ),
    )
    .unwrap();
    let output = crosswalk()
        .env_remove("CROSSWALK_TEST_UNSET_KEY")
        .args([
            "unified",
            "crm",
            "accounts",
            "list",
            "--account",
            account.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let error = stderr_error(&output);
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("CROSSWALK_TEST_UNSET_KEY"),
        "{error}"
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let output = run(&["--help"]);
    assert_eq!(output.status.code(), Some(0));
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("Exit codes:"), "{text}");
    assert!(text.contains("3  the definitions"), "{text}");
}

#[test]
fn validate_summarises_the_bundled_definitions() {
    let output = run(&["validate"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("crm/accounts"), "{text}");
    assert!(text.contains("list, get, create, update, delete"), "{text}");
}

#[test]
fn validate_reports_every_located_problem() {
    let dir = tempfile::tempdir().unwrap();
    let name = integration();
    copy_definitions(&mappings().join(&name), &dir.path().join(&name));
    let accounts = dir.path().join(&name).join("crm/accounts.yaml");
    let text = std::fs::read_to_string(&accounts).unwrap();
    let broken = text
        .replace("website: url,", "website: url[,")
        .replace("    limit:\n      max: 200", "    limti:\n      max: 200");
    std::fs::write(&accounts, broken).unwrap();

    let output = run(&["validate", "--mappings", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = text
        .lines()
        .position(|l| l.contains("website: url,"))
        .unwrap()
        + 1;
    assert!(
        stderr.contains(&format!("{name}/crm/accounts.yaml:{line}:")),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `limit`?"), "{stderr}");
    assert!(stderr.contains("2 problems"), "{stderr}");
    assert!(
        stderr.contains('^'),
        "a caret points at the fault: {stderr}"
    );
}

fn copy_definitions(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if path.is_dir() {
            if name != "sandbox" {
                copy_definitions(&path, &to.join(name));
            }
        } else if path.extension().is_some_and(|e| e == "yaml") && name != "sandbox.yaml" {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

/// `crosswalk sandbox serve` in the background, stopped on drop.
struct Served {
    child: Child,
    account: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve() -> Served {
    let dir = tempfile::tempdir().unwrap();
    let account = dir.path().join("sandbox-account.yaml");
    let child = crosswalk()
        .args([
            "sandbox",
            "serve",
            "--port",
            "0",
            "--write-account",
            account.to_str().unwrap(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served {
        child,
        account,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !served.account.exists() {
        assert!(Instant::now() < deadline, "the sandbox did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    served
}

#[test]
fn round_trip_against_a_served_sandbox() {
    let served = serve();
    let account = served.account.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    let unified = |args: &[&str]| {
        let mut all = vec!["unified", "crm", "accounts"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--account", account, "--no-remote-data"]);
        let output = run(&all);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{all:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout_json(&output)
    };

    std::fs::write(&body, r#"{"name": "Fjord Freight", "website": "https://fjord.example.com", "custom_fields": {"cf_k4Pw0UA66kzNdqjbbPB0p975b1MkrREcqWacRbyyzee": 40}}"#).unwrap();
    let created = unified(&["create", "--body", body.to_str().unwrap()]);
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["name"], "Fjord Freight");

    let fetched = unified(&["get", &id]);
    assert_eq!(fetched["website"], "https://fjord.example.com");
    assert_eq!(
        fetched["custom_fields"]["cf_k4Pw0UA66kzNdqjbbPB0p975b1MkrREcqWacRbyyzee"],
        40
    );

    std::fs::write(&body, r#"{"description": "Ferries and freight"}"#).unwrap();
    unified(&["update", &id, "--body", body.to_str().unwrap()]);
    let updated = unified(&["get", &id]);
    assert_eq!(updated["description"], "Ferries and freight");
    assert_eq!(
        updated["name"], "Fjord Freight",
        "a partial update keeps the rest"
    );

    assert_eq!(unified(&["delete", &id]), json!({"id": id}));
    let output = run(&[
        "unified",
        "crm",
        "accounts",
        "get",
        &id,
        "--account",
        account,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr_error(&output)["statusCode"], 404);
}

#[test]
fn proxy_lists_come_back_in_the_envelope() {
    let output = run(&["proxy", "GET", "/lead/", "--sandbox", "--query", "_limit=3"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let page = stdout_json(&output);
    assert_eq!(page["result_count"], 3);
    assert_eq!(page["result"][0]["id"], seed_ids("lead.json")[0]);
    assert!(page["next_cursor"].is_string());
}

#[test]
fn proxy_all_streams_every_record() {
    let output = run(&["proxy", "GET", "/lead/", "--sandbox", "--all"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout_json(&output)["result_count"],
        seed_ids("lead.json").len()
    );
}

#[test]
fn proxy_paths_that_escape_are_bad_input() {
    for path in [
        "//elsewhere.invalid/",
        "/../x",
        "https://elsewhere.invalid/x",
    ] {
        let output = run(&["proxy", "GET", path, "--sandbox"]);
        assert_eq!(output.status.code(), Some(2), "{path}");
        assert_eq!(stderr_error(&output)["statusCode"], 400);
    }
}

#[test]
fn a_recording_replays_offline_and_reports_what_was_not_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let recording = dir.path().join("recording.json");
    let recording = recording.to_str().unwrap();
    let recorded = run(&[
        "unified",
        "crm",
        "accounts",
        "list",
        "--sandbox",
        "--all",
        "--limit",
        "10",
        "--record",
        recording,
    ]);
    assert_eq!(recorded.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&recorded.stderr).contains("recorded 4 exchange(s)"));
    assert!(
        !std::fs::read_to_string(recording)
            .unwrap()
            .contains("sandbox\""),
        "credentials are redacted"
    );

    let replayed = run(&[
        "unified", "crm", "accounts", "list", "--replay", recording, "--all", "--limit", "10",
    ]);
    assert_eq!(
        replayed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    assert_eq!(stdout_json(&replayed), stdout_json(&recorded));
    assert!(
        replayed.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );

    let partial = run(&[
        "unified", "crm", "accounts", "list", "--replay", recording, "--limit", "10",
    ]);
    assert_eq!(partial.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&partial.stderr).contains("recorded but never requested"));

    let missing = run(&[
        "unified", "crm", "accounts", "list", "--replay", recording, "--limit", "5",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr_error(&missing)["message"]
        .as_str()
        .unwrap()
        .contains("closest recorded request"));
}

#[test]
fn map_turns_a_saved_response_into_unified_output() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("page.json");
    let list = run(&[
        "proxy",
        "GET",
        "/contact/",
        "--sandbox",
        "--query",
        "_limit=2",
    ]);
    let raw = json!({"data": stdout_json(&list)["result"], "has_more": false});
    std::fs::write(&page, raw.to_string()).unwrap();
    let output = run(&[
        "map",
        "crm",
        "contacts",
        "list",
        "--integration",
        &integration(),
        "--response",
        page.to_str().unwrap(),
        "--no-remote-data",
    ]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mapped = stdout_json(&output);
    assert_eq!(mapped["result_count"], 2);
    assert!(mapped["result"][0]["email_addresses"].is_array());
}

#[test]
fn connect_runs_the_browser_flow_and_writes_a_private_account_file() {
    use std::io::{BufRead, BufReader, Read as _, Write as _};

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(async {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .and(wiremock::matchers::path("/oauth2/token/"))
            .and(wiremock::matchers::body_string_contains("code=c0de"))
            .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(json!({
                "access_token": "acc-1", "refresh_token": "ref-1", "expires_in": 3600
            })))
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    let account = dir.path().join("connected.yaml");
    let oauth_base = format!("oauth_base={}", server.uri());
    let mut child = crosswalk()
        .args([
            "connect",
            &integration(),
            "--client-id",
            "cid",
            "--client-secret",
            "cs3cret",
            "--port",
            "0",
        ])
        .args([
            "--option",
            &oauth_base,
            "--write-account",
            account.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut authorize = None;
    let mut line = String::new();
    while stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(url) = line.trim().strip_prefix("http") {
            authorize = Some(format!("http{url}"));
        }
        if line.contains("waiting for the browser") {
            break;
        }
        line.clear();
    }
    let authorize = reqwest::Url::parse(&authorize.expect("an authorize URL is printed")).unwrap();
    let query: std::collections::HashMap<String, String> =
        authorize.query_pairs().into_owned().collect();
    assert_eq!(query["client_id"], "cid");
    let redirect = reqwest::Url::parse(&query["redirect_uri"]).unwrap();

    // The browser comes back with the code and the state.
    let mut stream =
        std::net::TcpStream::connect((redirect.host_str().unwrap(), redirect.port().unwrap()))
            .unwrap();
    let request = format!(
        "GET /callback?code=c0de&state={} HTTP/1.1\r\nHost: x\r\n\r\n",
        query["state"]
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    assert!(child.wait().unwrap().success());
    let text = std::fs::read_to_string(&account).unwrap();
    assert!(text.contains("refresh_token: \"ref-1\""), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&account).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
