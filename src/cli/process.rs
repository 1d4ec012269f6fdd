//! `kascade process`: `oc process --local`, with a built-in catalog.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use rand::SeedableRng;
use rand::rngs::StdRng;

use super::output::{self, Format};
use super::warn;
use crate::template::catalog;
use crate::template::openshift::{self, Template, params};

pub const EXAMPLES: &str = "Examples:
  # Process a template file, like `oc process -f`
  kascade process -f template.yaml -p GIT_URL=https://example.com/app.git

  # Process a built-in template, parameters from a file, as YAML
  kascade process base-image-example --param-file params.env -o yaml

  # Reproducible generated values
  kascade process nodejs-example --seed 42

  # Show the catalog, or a template's parameters
  kascade process --list
  kascade process base-image-example --parameters";

/// Arguments of `kascade process`.
#[derive(Debug, Args)]
pub struct ProcessArgs {
    /// A template name from the catalog, and KEY=VALUE parameters in any position.
    #[arg(value_name = "TEMPLATE | KEY=VALUE")]
    args: Vec<String>,
    /// Template file (YAML or JSON, a Template or a v1 List holding one); `-` reads stdin.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    filename: Option<String>,
    /// Set a parameter, KEY=VALUE (repeatable; the value may hold commas and `=`).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    param: Vec<String>,
    /// Read parameters from a dotenv file (repeatable; `-` reads stdin). The first file wins.
    #[arg(long = "param-file", value_name = "FILE")]
    param_file: Vec<String>,
    /// Skip parameters the template does not declare instead of failing.
    #[arg(long)]
    ignore_unknown_parameters: bool,
    /// Print the template's parameters instead of processing it.
    #[arg(long)]
    parameters: bool,
    /// Labels to add to every object's metadata.labels, `k=v,k2=v2`.
    #[arg(short = 'l', long = "labels", value_name = "LABELS")]
    labels: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum)]
    output: Option<Format>,
    /// Print the processed Template itself instead of a List of its objects.
    #[arg(long)]
    raw: bool,
    /// Go-template output is not supported; accepted only to explain that.
    #[arg(long = "template", value_name = "TEMPLATE", hide = true)]
    go_template: Option<String>,
    /// Seed for generated values (reproducible output); default is the OS-seeded CSPRNG.
    #[arg(long)]
    seed: Option<u64>,
    /// List the templates of the catalog.
    #[arg(long)]
    list: bool,
    /// A directory of templates to add to the catalog (repeatable), searched before the
    /// built-in ones.
    #[arg(long = "templates", value_name = "DIR", env = "KASCADE_TEMPLATES")]
    templates: Vec<PathBuf>,
}

pub fn exec(args: ProcessArgs) -> anyhow::Result<u8> {
    if args.list {
        return list(&args.templates);
    }
    let mut name: Option<&str> = None;
    let mut positional = Vec::new();
    for a in &args.args {
        if a.contains('=') {
            positional.push(a.clone());
        } else if name.is_some() {
            bail!("template name must be specified only once: {a}");
        } else {
            name = Some(a);
        }
    }
    if args.parameters {
        for (given, flag) in [
            (!args.param.is_empty() || !positional.is_empty(), "param"),
            (args.labels.is_some(), "labels"),
            (args.output.is_some(), "output"),
            (args.raw, "raw"),
            (args.go_template.is_some(), "template"),
        ] {
            if given {
                bail!(
                    "The --parameters flag does not process the template, can't be used with --{flag}"
                );
            }
        }
    }
    // Like oc, malformed and duplicate -p assignments are found before the template is read.
    let all: Vec<String> = args.param.iter().chain(&positional).cloned().collect();
    let cli_values = params::parse_cli_assignments(&all)?;
    if args.go_template.is_some() {
        bail!("go templates are not supported: use -o json, -o yaml or -o name");
    }
    let stdin_users = usize::from(args.filename.as_deref() == Some("-"))
        + args.param_file.iter().filter(|f| *f == "-").count();
    if stdin_users > 1 {
        bail!("standard input can be read only once: give `-` to -f or to one --param-file");
    }
    let stdin = if stdin_users == 1 {
        let mut buf = String::new();
        io::stdin()
            .take(crate::resource::yaml::MAX_FILE_BYTES as u64 + 1)
            .read_to_string(&mut buf)
            .context("failed to read standard input")?;
        Some(buf)
    } else {
        None
    };
    let (bytes, source) = match (&args.filename, name) {
        (Some(_), Some(n)) => {
            bail!("a template name ({n}) and -f cannot be given together")
        }
        (None, None) => bail!("Must pass a filename or name of stored template"),
        (Some(f), None) if f == "-" => (
            stdin.clone().unwrap_or_default().into_bytes(),
            "<stdin>".to_string(),
        ),
        (Some(f), None) => {
            let meta = std::fs::metadata(f).with_context(|| format!("failed to read {f}"))?;
            if meta.len() > crate::resource::yaml::MAX_FILE_BYTES as u64 {
                bail!(
                    "failed to read {f}: file is {} bytes, larger than the limit of {} bytes",
                    meta.len(),
                    crate::resource::yaml::MAX_FILE_BYTES
                );
            }
            (
                std::fs::read(f).with_context(|| format!("failed to read {f}"))?,
                f.clone(),
            )
        }
        (None, Some(n)) => {
            let entry = catalog::find(n, &args.templates)?;
            (entry.bytes()?, entry.source_name())
        }
    };
    let mut loaded = openshift::load(&bytes, &source)?;
    if loaded.templates.len() > 1 {
        warn(&format!(
            "{} input templates found, but only the first will be processed",
            loaded.templates.len()
        ));
    }
    let mut template = loaded.templates.swap_remove(0);
    if args.parameters {
        print!("{}", parameter_table(&template));
        return Ok(0);
    }
    apply_parameters(&mut template, &args, cli_values, stdin.as_deref())?;
    if let Some(spec) = &args.labels {
        let extra = params::parse_labels(spec)?;
        template
            .labels
            .get_or_insert_with(BTreeMap::new)
            .extend(extra);
    }
    let mut rng: StdRng = match args.seed {
        Some(seed) => StdRng::seed_from_u64(seed),
        None => rand::make_rng(),
    };
    let processed = openshift::process(&template, &mut rng)?;
    if args.raw {
        let processed_template = processed.to_template(&template);
        let text = match args.output.unwrap_or(Format::Json) {
            Format::Yaml => crate::resource::yaml::to_yaml(&processed_template),
            Format::Json => output::json_pretty(&processed_template) + "\n",
            Format::Name => format!("template.template.openshift.io/{}\n", template.name),
        };
        io::stdout().lock().write_all(text.as_bytes())?;
    } else {
        let objects: Vec<&serde_json::Value> = processed.objects.iter().collect();
        output::print_objects(&objects, args.output.unwrap_or(Format::Json), false)?;
    }
    if let Some(message) = processed.message.filter(|m| !m.trim().is_empty()) {
        let _ = writeln!(io::stderr().lock(), "{message}");
    }
    Ok(0)
}

/// Sets parameters from `-p`, positional `K=V` and `--param-file`, with `oc`'s precedence,
/// warnings and errors.
fn apply_parameters(
    template: &mut Template,
    args: &ProcessArgs,
    cli: Vec<(String, String)>,
    stdin: Option<&str>,
) -> anyhow::Result<()> {
    for p in &args.param {
        if let Some((_, v)) = p.split_once('=')
            && params::looks_like_comma_list(v)
        {
            warn(&format!(
                "--param no longer accepts comma-separated lists of values. {p:?} will be treated as a single key-value pair."
            ));
        }
    }
    let mut given: HashSet<String> = cli.iter().map(|(k, _)| k.clone()).collect();
    let mut values: Vec<(String, String)> = cli;
    for file in &args.param_file {
        for (k, v) in params::read_env_file(file, stdin)? {
            if given.contains(&k) {
                warn(&format!(
                    "Template parameter {k:?} already defined, ignoring value from file {file:?}"
                ));
                continue;
            }
            given.insert(k.clone());
            values.push((k, v));
        }
    }
    let mut unknown = Vec::new();
    for (k, v) in &values {
        if !template.set_parameter(k, v) && !args.ignore_unknown_parameters {
            unknown.push(format!("unknown parameter name {k:?}"));
        }
    }
    if !unknown.is_empty() {
        bail!("{}", openshift::aggregate(&unknown));
    }
    Ok(())
}

/// `oc process --parameters`: NAME DESCRIPTION GENERATOR VALUE, as Go's tabwriter lays it out.
fn parameter_table(template: &Template) -> String {
    let mut rows = vec![vec![
        "NAME".to_string(),
        "DESCRIPTION".to_string(),
        "GENERATOR".to_string(),
        "VALUE".to_string(),
    ]];
    for p in &template.parameters {
        let value = if p.generate.is_empty() {
            &p.value
        } else {
            &p.from
        };
        rows.push(vec![
            p.name.clone(),
            p.description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            p.generate.clone(),
            value.clone(),
        ]);
    }
    output::table(&rows, 20, 3)
}

fn list(dirs: &[PathBuf]) -> anyhow::Result<u8> {
    let mut rows = vec![vec![
        "NAME".to_string(),
        "DESCRIPTION".to_string(),
        "PARAMETERS".to_string(),
        "OBJECTS".to_string(),
    ]];
    for entry in catalog::list(dirs)? {
        let bytes = entry.bytes()?;
        let template = Template::from_bytes(&bytes, &entry.source_name())?;
        let blank = template
            .parameters
            .iter()
            .filter(|p| p.value.is_empty() && p.generate.is_empty())
            .count();
        let mut description = entry.description.clone();
        if description.chars().count() > 60 {
            description = description.chars().take(57).collect::<String>() + "...";
        }
        rows.push(vec![
            entry.name.clone(),
            description,
            format!("{} ({} blank)", template.parameters.len(), blank),
            template.objects.len().to_string(),
        ]);
    }
    print!("{}", output::table(&rows, 10, 3));
    Ok(0)
}
