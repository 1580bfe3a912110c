//! Checks that keep the structure honest: dependencies point one way between the layers, every
//! module says what it owns, and the README and bot.example.toml list exactly the declared
//! commands and permissions.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::auth::Permission;
use crate::command::COMMANDS;

/// The layers, top to bottom. A module may import from its own layer and the layers below it,
/// never from one above. Written once, here.
const LAYERS: &[(&str, &[&str])] = &[
    ("app", &["app", "audit_cli", "check"]),
    ("command", &["command"]),
    ("jobs", &["jobs"]),
    ("context", &["context"]),
    (
        "leaves",
        &[
            "admin_api",
            "auth",
            "config",
            "confirm",
            "matrix",
            "metrics",
            "report",
            "store",
            "text",
            "units",
            "users_csv",
        ],
    ),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to: `src/command/help.rs` → `command`.
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

/// `crate::x` paths in code (comments left out: docs may name any module).
fn crate_imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
            rest = after;
        }
    }
    found
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut violations = Vec::new();
    for file in &files {
        let module = module_of(file);
        let Some(own) = layer_of(&module) else {
            // The crate root, main.rs and these checks sit above every layer.
            assert!(
                ["lib", "main", "structure_tests"].contains(&module.as_str()),
                "{module} is in no layer: add it to LAYERS"
            );
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        for target in crate_imports(&text) {
            let Some(theirs) = layer_of(&target) else {
                continue;
            };
            if theirs < own {
                violations.push(format!(
                    "{} ({}) imports crate::{target} ({})",
                    file.display(),
                    LAYERS[own].0,
                    LAYERS[theirs].0
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "dependencies must point down (app → command → jobs → context → leaves):\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_layering_check_sees_an_upward_import() {
    let text =
        "use crate::report::Reply;\n// crate::app in a comment is fine\nlet x = crate::app::start;";
    assert_eq!(
        crate_imports(text),
        ["app", "report"].into_iter().map(str::to_owned).collect()
    );
}

#[test]
fn every_module_says_what_it_owns() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        assert!(
            text.starts_with("//!"),
            "{} must start with a //! line saying what it owns",
            file.display()
        );
    }
}

fn read_doc(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).expect("read doc")
}

/// The README's command table: each row's command names and permission cell.
fn readme_rows() -> Vec<(Vec<String>, String)> {
    let readme = read_doc("README.md");
    let mut rows = Vec::new();
    let mut in_table = false;
    for line in readme.lines() {
        if line.starts_with("| command | permission |") {
            in_table = true;
            continue;
        }
        if in_table && !line.starts_with('|') {
            break;
        }
        if !in_table || line.starts_with("| ---") {
            continue;
        }
        let cells: Vec<&str> = line.split(" | ").collect();
        let names = cells[0]
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|code| code.strip_prefix('!'))
            .filter_map(|c| c.split_whitespace().next())
            .map(str::to_owned)
            .collect();
        rows.push((names, cells.get(1).copied().unwrap_or("").to_owned()));
    }
    rows
}

#[test]
fn the_readme_lists_every_command_with_its_permission() {
    let rows = readme_rows();
    assert!(!rows.is_empty(), "README.md has no command table");
    let listed: BTreeSet<&str> = rows
        .iter()
        .flat_map(|(names, _)| names.iter().map(String::as_str))
        .collect();
    let declared: BTreeSet<&str> = COMMANDS.iter().map(|c| c.name).collect();
    assert_eq!(
        listed, declared,
        "README.md's command table and the declared commands differ"
    );
    for info in COMMANDS {
        let (_, permission) = rows
            .iter()
            .find(|(names, _)| names.iter().any(|n| n == info.name))
            .expect("listed");
        match info.permissions.first() {
            Some(p) => assert!(
                permission.contains(&format!("`{}`", p.name())),
                "README.md gives !{} the permission {permission:?}, it needs {}",
                info.name,
                p.name()
            ),
            None => assert!(
                permission.contains("any role"),
                "!{} needs no permission beyond a role",
                info.name
            ),
        }
    }
}

#[test]
fn bot_example_toml_lists_every_permission() {
    let example = read_doc("bot.example.toml");
    let start = example
        .find("# Permissions:")
        .expect("bot.example.toml lists the permissions");
    let mut lines = example[start + "# Permissions:".len()..].lines();
    let first = lines.next().unwrap_or("");
    let block: String = std::iter::once(first)
        .chain(
            lines
                .take_while(|l| l.starts_with('#'))
                .map(|l| l.trim_start_matches('#')),
        )
        .collect::<Vec<_>>()
        .join(" ");
    let block = block.split("\"*\"").next().unwrap_or("");
    // Drop the explanations in parentheses, then read the comma-separated names.
    let mut names = BTreeSet::new();
    let mut depth = 0;
    let mut plain = String::new();
    for c in block.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    for name in plain.split([',', ';']) {
        let name = name.trim();
        if !name.is_empty() {
            names.insert(name.to_owned());
        }
    }
    let declared: BTreeSet<String> = Permission::ALL
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    assert_eq!(
        names, declared,
        "bot.example.toml's list of permissions and the declared ones differ"
    );
}
