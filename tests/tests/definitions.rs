//! Loading the bundled definitions, and located errors for broken ones.

use std::fs;
use std::path::Path;

use crosswalk::{Engine, ErrorKind};
use crosswalk_tests::mappings_dir;

#[test]
fn bundled_definitions_load() {
    let engine = Engine::load(mappings_dir()).expect("bundled mappings load");
    let close = &engine.integrations()[0];
    assert_eq!(close.name, "close");
    let names: Vec<&str> = close.resources.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"crm/accounts"), "{names:?}");
    assert!(names.contains(&"crm/contacts"), "{names:?}");
}

/// Copies the bundled Close definitions into a temporary folder, applies `edit` to one file,
/// and returns every diagnostic of the load.
fn broken(file: &str, edit: impl Fn(&str) -> String) -> Vec<crosswalk::Diagnostic> {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("close");
    copy_yaml(&mappings_dir().join("close"), &target);
    let path = target.join(file);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, edit(&text)).unwrap();
    let error = Engine::load(dir.path())
        .err()
        .expect("the broken definition must fail");
    assert_eq!(error.kind(), ErrorKind::Definition);
    error.diagnostics().to_vec()
}

fn copy_yaml(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        if path.is_dir() {
            if name != "sandbox" && name != "tests" {
                copy_yaml(&path, &to.join(name));
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|line| line.contains(needle)).unwrap() + 1
}

#[test]
fn yaml_syntax_error_is_located() {
    let source = fs::read_to_string(mappings_dir().join("close/crm/contacts.yaml")).unwrap();
    let diagnostics = broken("crm/contacts.yaml", |text| {
        text.replace("      path: /contact/\n", "      path: [/contact/\n")
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.file, Path::new("close/crm/contacts.yaml"));
    assert!(d.message.starts_with("invalid YAML"), "{d:?}");
    assert!(
        d.line >= line_of(&source, "      path: /contact/\n".trim_end()),
        "{d:?}"
    );
}

#[test]
fn unknown_key_is_located_with_a_hint() {
    let text = fs::read_to_string(mappings_dir().join("close/crm/accounts.yaml")).unwrap();
    let diagnostics = broken("crm/accounts.yaml", |text| {
        text.replacen(
            "    limit:\n      max: 200",
            "    limti:\n      max: 200",
            1,
        )
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.line, line_of(&text, "    limit:"));
    assert_eq!(d.column, 5);
    assert_eq!(d.yaml_path, "methods.list.limti");
    assert_eq!(d.hint.as_deref(), Some("did you mean `limit`?"));
}

#[test]
fn bad_jmespath_is_located_inside_the_block() {
    let text = fs::read_to_string(mappings_dir().join("close/crm/contacts.yaml")).unwrap();
    let diagnostics = broken("crm/contacts.yaml", |text| {
        text.replace("title: title,", "title: title[,")
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.line, line_of(&text, "title: title,"), "{}", d.render());
    assert!(d.message.contains("JMESPath"), "{d:?}");
    assert_eq!(d.yaml_path, "mapping");
}

#[test]
fn bad_template_is_located() {
    let text = fs::read_to_string(mappings_dir().join("close/crm/accounts.yaml")).unwrap();
    let diagnostics = broken("crm/accounts.yaml", |text| {
        text.replace(
            "description: \"{{ body.description }}\"",
            "description: \"{{ body.description | }}\"",
        )
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(
        d.line,
        line_of(&text, "description: \"{{ body.description }}\""),
        "{}",
        d.render()
    );
    assert!(d.message.contains("template"), "{d:?}");
}

#[test]
fn unknown_template_variable_is_a_load_error() {
    let diagnostics = broken("crm/contacts.yaml", |text| {
        text.replace(
            "path: /contact/{{ id }}/\n\n  create",
            "path: /contact/{{ idd }}/\n\n  create",
        )
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert!(
        diagnostics[0].message.contains("unknown variable `idd`"),
        "{diagnostics:#?}"
    );
}

#[test]
fn every_problem_is_reported_in_one_load() {
    let diagnostics = broken("crm/contacts.yaml", |text| {
        text.replace("title: title,", "title: title[,")
            .replace("    limit:\n      max: 100", "    limt:\n      max: 100")
            .replace("method: DELETE", "method: DELET")
    });
    assert_eq!(diagnostics.len(), 3, "{diagnostics:#?}");
}

#[test]
fn the_definition_schema_catches_what_the_reader_allows() {
    let text = fs::read_to_string(mappings_dir().join("close/crm/accounts.yaml")).unwrap();
    let diagnostics = broken("crm/accounts.yaml", |text| {
        text.replace(
            "      query:\n        query: sort:date_created",
            "      query: [sort]",
        )
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert!(d.message.contains("definition schema"), "{d:?}");
    assert_eq!(d.yaml_path, "methods.list.request.query");
    assert_eq!(
        d.line,
        line_of(
            &text,
            "      query:\n        query: sort:date_created"
                .lines()
                .next()
                .unwrap()
        )
    );
}

#[test]
fn an_absurd_number_of_seconds_is_a_located_error_not_a_crash() {
    let diagnostics = broken("integration.yaml", |text| {
        text.replace("max_wait_seconds: 60", "max_wait_seconds: 1e300")
    });
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert!(
        diagnostics[0].message.contains("seconds"),
        "{diagnostics:#?}"
    );
    assert_eq!(diagnostics[0].yaml_path, "rate_limit.max_wait_seconds");
}

#[test]
fn every_fault_of_a_pagination_block_is_reported_at_once() {
    let diagnostics = broken("crm/accounts.yaml", |text| {
        text.replace("      max_offset: 35000", "      max_offset: -1")
            .replace("        id: id\n", "")
            .replace(
                "      limit_param: _limit\n      max_offset",
                "      limit_param: _limit\n      records: '[x'\n      max_offset",
            )
    });
    let messages: Vec<&str> = diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(diagnostics.len(), 3, "{messages:#?}");
}
