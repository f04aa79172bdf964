//! The docs name the examples as they are: every `examples/…` file they mention exists, and where
//! they give an example's object name ("`app-login` from `self-managed.yaml`", "`orphaned.yaml`
//! (`old-login`"), it is that file's `metadata.name`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const DOCS: [&str; 3] = ["README.md", "docs/first-real-tenant.md", "deploy/README.md"];

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// File name → the `metadata.name`s of its objects (indented `name:` right under `metadata:`).
fn example_names() -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(Path::new(ROOT).join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut names = Vec::new();
        let mut in_metadata = false;
        for line in text.lines() {
            if line.starts_with("metadata:") {
                in_metadata = true;
            } else if in_metadata && let Some(name) = line.strip_prefix("  name: ") {
                names.push(name.split_whitespace().next().unwrap_or_default().to_owned());
                in_metadata = false;
            } else if !line.starts_with(' ') {
                in_metadata = false;
            }
        }
        out.insert(path.file_name().unwrap().to_string_lossy().into_owned(), names);
    }
    out
}

/// The words of `text` with Markdown's backticks kept, joined by single spaces (line breaks too).
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `(name, file)` pairs written as "`NAME` from `FILE.yaml`" or "`FILE.yaml` (`NAME`".
fn named_pairs(text: &str) -> Vec<(String, String)> {
    let t = flat(text);
    let ticked: Vec<(usize, &str)> = t
        .match_indices('`')
        .collect::<Vec<_>>()
        .chunks(2)
        .filter_map(|c| match c {
            [(a, _), (b, _)] => Some((*a, &t[a + 1..*b])),
            _ => None,
        })
        .collect();
    let mut pairs = Vec::new();
    for w in ticked.windows(2) {
        let ((a, first), (b, second)) = (w[0], w[1]);
        let between = &t[a + first.len() + 2..b];
        if between == " from " && second.ends_with(".yaml") {
            pairs.push((first.to_owned(), second.to_owned()));
        }
        if between == " (" && first.ends_with(".yaml") {
            pairs.push((second.to_owned(), first.to_owned()));
        }
    }
    pairs
}

#[test]
fn every_example_the_docs_mention_exists() {
    let names = example_names();
    for doc in DOCS {
        let text = read(doc);
        for (i, _) in text.match_indices("examples/") {
            let file: String = text[i + "examples/".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            let file = file.trim_end_matches('.');
            if file.ends_with(".yaml") {
                assert!(
                    names.contains_key(file),
                    "{doc} mentions examples/{file}, which does not exist"
                );
            }
        }
    }
}

#[test]
fn names_the_docs_give_are_the_examples_names() {
    let names = example_names();
    let mut checked = 0;
    for doc in DOCS {
        for (name, file) in named_pairs(&read(doc)) {
            let file = file.trim_start_matches("examples/");
            let Some(in_file) = names.get(file) else { continue };
            assert!(
                in_file.contains(&name),
                "{doc} calls the object of examples/{file} `{name}`; the file has {in_file:?}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "expected the README to name the examples (checked {checked})"
    );
    // The real-tenant example must not share the sandbox's tenant or Secret names.
    let tenant = &names["tenant.yaml"];
    assert!(
        !tenant.iter().any(|n| n == "default" || n == "auth0-credentials"),
        "{tenant:?}"
    );
    assert_eq!(
        named_pairs("`a` from `x.yaml`, and `y.yaml` (`b`, more)"),
        vec![("a".into(), "x.yaml".into()), ("b".into(), "y.yaml".into())]
    );
}
