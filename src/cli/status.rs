//! `kascade status`: every app the cluster records — its revision, last sync and drift — from
//! the state, while `kascade run` runs or not.

use std::io::{self, Write};

use clap::Args;
use serde_json::{Value, json};

pub const EXAMPLES: &str = "Examples:
  # The apps of the embedded cluster in ./.kascade
  kascade status

  # One app, as JSON
  kascade status --app web -o json

  # Another state directory (works while `kascade run` uses it)
  kascade status --state /var/lib/kascade";

/// Arguments of `kascade status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    cluster: super::cluster::ClusterArgs,
    /// Only this app.
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// Output: text (a table) or json.
    #[arg(short = 'o', long = "output", value_enum, default_value = "text")]
    output: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum StatusFormat {
    Text,
    Json,
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn one_line(s: &str, max: usize) -> String {
    let line = s.lines().next().unwrap_or("");
    if line.chars().count() > max {
        let cut: String = line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        line.to_string()
    }
}

pub fn exec(args: StatusArgs) -> anyhow::Result<u8> {
    let cluster = args.cluster.open()?;
    let mut apps = Vec::new();
    for (name, inventory) in cluster.inventories()? {
        if args.app.as_ref().is_some_and(|a| *a != name) {
            continue;
        }
        let status = cluster.app_status(&name)?;
        apps.push(json!({
            "name": name,
            "revision": inventory.revision,
            "syncedAt": inventory.synced_at,
            "objects": inventory.members.len(),
            "daemon": status,
        }));
    }
    if let Some(app) = &args.app
        && apps.is_empty()
    {
        anyhow::bail!("no app {app:?} in {}", cluster.describe());
    }
    let mut out = io::stdout().lock();
    if args.output == StatusFormat::Json {
        writeln!(
            out,
            "{}",
            super::output::json_pretty(&json!({"cluster": cluster.describe(), "apps": apps}))
        )?;
        return Ok(0);
    }
    if apps.is_empty() {
        writeln!(out, "no apps in {}", cluster.describe())?;
        return Ok(0);
    }
    let mut rows = vec![
        [
            "APP", "REVISION", "SYNCED", "RESULT", "OBJECTS", "DRIFT", "MESSAGE",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for a in &apps {
        let d = &a["daemon"];
        let result = str_at(d, "/lastSync/result").unwrap_or("-");
        let drift = d.get("drift").and_then(Value::as_u64).unwrap_or(0);
        let message = if let Some(e) = str_at(d, "/lastSync/error") {
            one_line(e, 100)
        } else if drift > 0 {
            let names: Vec<&str> = d
                .get("drifted")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).take(3).collect())
                .unwrap_or_default();
            format!("drifted: {}", names.join(", "))
        } else if d.is_null() {
            "synced by kascade sync".to_string()
        } else {
            String::new()
        };
        let synced = str_at(d, "/lastSync/time")
            .or_else(|| a["syncedAt"].as_str())
            .unwrap_or("-");
        rows.push(vec![
            a["name"].as_str().unwrap_or("-").to_string(),
            a["revision"].as_str().unwrap_or("-").to_string(),
            synced.to_string(),
            result.to_string(),
            a["objects"].to_string(),
            if d.is_null() {
                "-".to_string()
            } else {
                drift.to_string()
            },
            message,
        ]);
    }
    write!(out, "{}", super::output::table(&rows, 0, 3))?;
    Ok(0)
}
