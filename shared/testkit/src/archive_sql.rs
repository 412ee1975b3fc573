//! The README's archive queries run by DuckDB (the pinned PyPI package in the tests'
//! virtualenv) over an archive directory: what a user pastes into DuckDB is what CI checks.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use taskpulse_devstack::{PythonTools, workspace_root};

/// Runs the README's `events-view` block over `archive`, then the block `query`; prints the
/// rows as JSON objects, one per line (dates and timestamps as ISO text).
const RUNNER: &str = r#"
import json, re, sys
import duckdb
readme, archive, query = sys.argv[1], sys.argv[2], sys.argv[3]
blocks = dict(re.findall(r'<!-- archive-sql: ([\w-]+) -->\n```sql\n(.*?)```', open(readme).read(), re.S))
con = duckdb.connect()
con.execute("set TimeZone = 'UTC'")
con.execute(blocks['events-view'].replace('ARCHIVE', archive))
result = con.sql(blocks[query])
for row in result.fetchall():
    print(json.dumps(dict(zip(result.columns, row)), default=str))
"#;

/// The named SQL blocks of the README (`<!-- archive-sql: NAME -->` before a fenced block).
pub fn readme_archive_queries() -> BTreeMap<String, String> {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap_or_default();
    let mut queries = BTreeMap::new();
    let mut rest = readme.as_str();
    while let Some(at) = rest.find("<!-- archive-sql: ") {
        rest = &rest[at + "<!-- archive-sql: ".len()..];
        let Some((name, after)) = rest.split_once(" -->\n```sql\n") else {
            continue;
        };
        let Some((sql, _)) = after.split_once("```") else {
            break;
        };
        queries.insert(name.to_owned(), sql.to_owned());
        rest = after;
    }
    queries
}

/// The rows the README query `query` answers over the archive at `archive`.
pub fn run_archive_query(archive: &Path, query: &str) -> Result<Vec<Value>, String> {
    let tools = PythonTools::ensure().map_err(|e| e.to_string())?;
    let output = Command::new(tools.bin_dir().join("python"))
        .arg("-c")
        .arg(RUNNER)
        .arg(workspace_root().join("README.md"))
        .arg(archive)
        .arg(query)
        .output()
        .map_err(|e| format!("cannot run the virtualenv's python: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "DuckDB query {query} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).map_err(|e| format!("{e}: {line}")))
        .collect()
}
